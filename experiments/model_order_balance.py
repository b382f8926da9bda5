"""Balance of the first N models of every grid preset (docs/zoo.md quotes its 288 rows).

python experiments/model_order_balance.py
"""

import collections
import time

from hyperrep.zoo import create_zoo_config

for name in [
    "mnist-hyp-1-fix-seed",
    "mnist-hyp-1-rand-seed",
    "mnist-hyp-5-fix-seed",
    "mnist-hyp-5-rand-seed",
    "tetris-hyp",
]:
    t = time.perf_counter()
    full = create_zoo_config(name).models()
    dt = time.perf_counter() - t
    assert sorted(m.model_id for m in full) == list(range(len(full)))
    for n in (12, 24, 288):
        sub = create_zoo_config(name, n_models=n).models()
        assert sub == full[:n]
        spread = {}
        for k in ("init", "optimizer", "activation", "lr", "weight_decay", "dropout"):
            c = collections.Counter(getattr(m, k) for m in sub)
            spread[k] = (min(c.values()), max(c.values()), len(c))
        g = collections.Counter(m.group for m in sub)
        print(
            name,
            n,
            f"{dt:.2f}s",
            spread,
            "groups",
            sorted(g.values()),
            "seeds",
            len({m.seed for m in sub}),
        )
