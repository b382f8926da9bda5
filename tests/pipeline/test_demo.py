import pandas as pd
import torch

from hyperrep.arch import create_architecture, to_module
from hyperrep.data import load_dataset
from hyperrep.pipeline import representation_leads, write_user_checkpoint


def test_leads_are_the_tasks_where_the_best_representation_beats_the_baseline():
    table = pd.DataFrame(
        {
            "W": [None, 30.0, 20.0, 70.0],
            "s(W)": [None, 60.0, 40.0, 65.0],
            "s(W) tensor": [None, 90.0, 90.0, 90.0],  # a baseline too, never a lead
            "E_cD c=2": [80.0, 70.0, 40.5, 85.0],
            "E_cD c=2 avg2": [None, 75.0, 39.0, None],
        },
        index=["Rec", "Acc", "GGap", "Act"],
    )
    leads = representation_leads(table)
    assert [(lead.task, lead.representation, lead.margin) for lead in leads] == [
        ("Act", "E_cD c=2", 20.0),
        ("Acc", "E_cD c=2 avg2", 15.0),
    ]  # GGap: 0.5 points ahead, under the 1-point margin; Rec is not a task


def test_user_checkpoint_is_a_plain_state_dict_of_the_tetris_mlp(tmp_path):
    path = tmp_path / "mine.pt"
    accuracy = write_user_checkpoint(path, epochs=1)
    arch = create_architecture("tetris-mlp")
    state = torch.load(path, weights_only=True)
    module = to_module(arch)
    module.load_state_dict(state)  # the zoo's architecture, key for key
    data = load_dataset("tetris")
    with torch.no_grad():
        predicted = module(data.x_test.flatten(1)).argmax(1)
    assert accuracy == (predicted == data.y_test).float().mean().item()
    assert accuracy > 0.4  # chance is 0.25 (4 classes)
    assert write_user_checkpoint(tmp_path / "again.pt", epochs=1) == accuracy  # seeded
