"""The attention encoder / decoder over neuron tokens (Schürholt et al. 2021, section 3)."""

from __future__ import annotations

import torch
from torch import nn

from hyperrep.arch import Architecture
from hyperrep.representation._config import TransformerConfig
from hyperrep.weights import token_layout


def _blocks(config: TransformerConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        config.d_model,
        config.n_heads,
        config.d_ff,
        config.dropout,
        activation="relu",
        batch_first=True,
        norm_first=True,
    )
    norm = nn.LayerNorm(config.d_model) if config.final_norm else None
    return nn.TransformerEncoder(layer, config.n_blocks, norm=norm, enable_nested_tensor=False)


class HyperRepresentation(nn.Module):
    """Encoder E (tokens -> tanh latent of size L), decoder D (latent -> weights) and a
    projection head for the contrastive loss.

    Each layer's tokens have their own linear embedding; a learned compression token is
    prepended and learned absolute position embeddings are added. The latent is
    tanh(Linear(compression token)) after pre-norm self-attention blocks (and a final
    LayerNorm if the config asks for one); with `latent_from="all"`, tanh(Linear(all
    output tokens, flattened)). The decoder maps
    the latent to one vector per token, adds position embeddings, runs the same kind of
    blocks, and projects each token back to its layer's width.
    """

    def __init__(self, arch: Architecture, config: TransformerConfig, decoder: bool = True) -> None:
        super().__init__()
        self.arch, self.config = arch, config
        self.layout = token_layout(arch)
        d, n_tokens = config.d_model, self.layout.n_tokens
        self.embed = nn.ModuleList(nn.Linear(lt.width, d) for lt in self.layout.layers)
        self.compression_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.encoder_positions = nn.Parameter(torch.randn(1, n_tokens + 1, d) * 0.02)
        self.encoder = _blocks(config)
        summary = d if config.latent_from == "token" else (n_tokens + 1) * d
        self.to_latent = nn.Linear(summary, config.latent_dim)
        self.has_decoder = decoder
        if decoder:
            self.from_latent = nn.Linear(config.latent_dim, n_tokens * d)
            self.decoder_positions = nn.Parameter(torch.randn(1, n_tokens, d) * 0.02)
            self.decoder = _blocks(config)
            self.unembed = nn.ModuleList(nn.Linear(d, lt.width) for lt in self.layout.layers)
        head: list[nn.Module] = []
        width_in = config.latent_dim
        for _ in range(config.head_layers - 1):
            head += [
                nn.Linear(width_in, config.head_width),
                nn.BatchNorm1d(config.head_width),
                nn.ReLU(),
            ]
            width_in = config.head_width
        head.append(nn.Linear(width_in, config.head_out))
        if config.head_out_norm:
            head.append(nn.BatchNorm1d(config.head_out))
        self.head = nn.Sequential(*head)

    def encode(self, weights: torch.Tensor) -> torch.Tensor:
        """Latents (B, L) in (-1, 1) of flat weight vectors (B, n_params)."""
        tokens = self.layout.to_tokens(weights)
        x = torch.cat([embed(t) for embed, t in zip(self.embed, tokens, strict=True)], dim=1)
        x = torch.cat([self.compression_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.encoder(x + self.encoder_positions)
        summary = x[:, 0] if self.config.latent_from == "token" else x.flatten(1)
        return torch.tanh(self.to_latent(summary))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Flat weight vectors (B, n_params) reconstructed from latents (B, L)."""
        if not self.has_decoder:
            raise RuntimeError("this model was built without a decoder (variant ec)")
        n_tokens, d = self.layout.n_tokens, self.config.d_model
        x = self.from_latent(latent).view(-1, n_tokens, d) + self.decoder_positions
        x = self.decoder(x)
        tokens, start = [], 0
        for lt, unembed in zip(self.layout.layers, self.unembed, strict=True):
            tokens.append(unembed(x[:, start : start + lt.n_tokens]))
            start += lt.n_tokens
        return self.layout.from_tokens(tokens)

    def project(self, latent: torch.Tensor) -> torch.Tensor:
        """Projection-head output used by the contrastive loss only."""
        return self.head(latent)

    def project_views(self, latent: torch.Tensor, views: int = 2) -> torch.Tensor:
        """Projections of `views` stacked views of one batch: each view through the head
        alone when the config says so (BatchNorm then sees one view at a time)."""
        if not self.config.head_per_view:
            return self.head(latent)
        return torch.cat([self.head(part) for part in latent.chunk(views)])
