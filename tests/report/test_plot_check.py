import pytest

from hyperrep.report import pyplot


def test_the_plot_check_refuses_a_blank_figure_and_takes_a_drawn_one(tmp_path, assert_plot):
    plt = pyplot()
    blank = plt.figure(figsize=(4, 3))
    blank.savefig(tmp_path / "blank.png")
    drawn, ax = plt.subplots(figsize=(4, 3))
    ax.scatter(range(50), [i % 7 for i in range(50)], c=range(50))
    ax.set(title="drawn", xlabel="x")
    drawn.savefig(tmp_path / "drawn.png")
    plt.close("all")
    assert_plot(tmp_path / "drawn.png")
    with pytest.raises(AssertionError):
        assert_plot(tmp_path / "blank.png")
