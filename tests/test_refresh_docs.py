"""benchmarks/refresh_docs.py: how examples are marked, run, compared and written back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import refresh_docs as rd  # noqa: E402

PAGE = ROOT / "docs" / "page.md"  # a page that need not exist: the text is given


def test_a_dollar_line_owns_the_lines_up_to_the_next_command_or_the_fence():
    text = "intro\n```\n$ archsearch solve --top 5\nold 1\nold 2\n$ archsearch solve --top 0  # exit 2\nold\n```\n"
    a, b = rd.find_examples(PAGE, text)
    assert (a.args, a.exit, a.start, a.end, a.line) == (("solve", "--top", "5"), 0, 3, 5, 3)
    assert (b.args, b.exit, b.start, b.end) == (("solve", "--top", "0"), 2, 6, 7)
    assert b.where == "docs/page.md:6" and b.command == "archsearch solve --top 0"


def test_an_output_marker_owns_the_whole_next_block():
    text = "<!-- archsearch exit=1: solve x.yaml -->\n```\nold\nolder\n```\n"
    (ex,) = rd.find_examples(PAGE, text)
    assert (ex.args, ex.exit, ex.start, ex.end) == (("solve", "x.yaml"), 1, 2, 4)


def test_blocks_without_a_marker_and_other_languages_are_left_alone():
    text = "```bash\narchsearch solve --top 5\n```\n```yaml\nname: x\n```\n"
    assert rd.find_examples(PAGE, text) == []


def test_an_image_marker_names_the_image_it_draws():
    text = "<!-- archsearch image: sweep --param p --plot docs/a.png -->\n![a plot](a.png)\n"
    (ex,) = rd.find_examples(PAGE, text)
    assert ex.image == ROOT / "docs" / "a.png" and ex.args[-1] == "docs/a.png"


@pytest.mark.parametrize("text, message", [
    ("<!-- archsearch image: sweep --plot docs/a.png -->\ntext\n",
     "docs/page.md:1: an image marker must be followed by ![alt](FILE) on the next line"),
    ("<!-- archsearch image: sweep --plot docs/b.png -->\n![a](a.png)\n",
     "docs/page.md:1: the image marker's command does not name docs/a.png, the image after it"),
    ("<!-- archsearch: solve -->\n\n```\nx\n```\n",
     "docs/page.md:1: an output marker must be followed by a fenced block on the next line"),
    ("```\n$ archsearch solve\n", "docs/page.md:1: a fenced block that never closes"),
])
def test_a_marker_that_cannot_be_followed_is_an_error(text, message):
    with pytest.raises(rd.MarkerError) as e:
        rd.find_examples(PAGE, text)
    assert str(e.value) == message


def test_output_that_no_marker_refreshes_is_found():
    text = "```\nsolver: OPTIMAL, 10 CP-SAT solves, 0.27 s\n```\n```\n$ archsearch solve\nsolver: OPTIMAL, 1 CP-SAT solves\n```\n"
    assert rd.unmarked_outputs(PAGE, text) == ["docs/page.md:2: output that no marker refreshes"]


def test_only_the_solver_wall_time_is_not_compared():
    a = "solver: OPTIMAL, 10 CP-SAT solves, 0.27 s, seed 0"
    assert rd.masked(a) == rd.masked(a.replace("0.27 s", "1.46 s"))
    assert rd.masked(a) != rd.masked(a.replace("10 CP-SAT", "11 CP-SAT"))
    assert rd.masked("TTFT 0.27 s") == "TTFT 0.27 s"
    e = "solver: OPTIMAL, every design enumerated (3,692,924 cells), 0.20 s; designs distinct"
    assert rd.masked(e) == rd.masked(e.replace("0.20 s", "0.10 s"))
    assert rd.masked(e) != rd.masked(e.replace("3,692,924", "3,692,925"))
    assert rd.unmarked_outputs(PAGE, f"```\n{e}\n```\n") == ["docs/page.md:2: output that no marker refreshes"]


def test_box_tables_flatten_to_aligned_text_with_wrapped_cells_folded():
    box = ("title\n┏━━━┳━━━━━━━━┓\n┃ # ┃ binding┃\n┡━━━╇━━━━━━━━┩\n│ 1 │ none   │\n│   │ (67%)  │\n"
           "│ 10 │ reach │\n└───┴────────┘\nfooter")
    assert rd.plain(box) == "title\n#  binding\n 1 none (67%)\n10 reach\nfooter"  # numbers align right


def test_the_site_home_is_the_readme_with_site_links():
    readme = "# a\n[Using it](docs/using-it.md#x), [file](problems/a.yaml), [web](https://x.org), [here](#a)\n"
    assert rd.site_index(readme) == (rd.INDEX_HEADER +
                                     "# a\n[Using it](using-it.md#x), file, [web](https://x.org), [here](#a)\n")


def test_a_command_exiting_otherwise_than_expected_is_a_failure_not_an_output():
    got = rd.run(rd.Example(PAGE, 7, ("solve", "--top", "0")))
    assert got.text == "" and got.error.startswith(
        "docs/page.md:7: `archsearch solve --top 0` exited 2, expected 0:\n"
        "    archsearch: error: solve: argument --top: expected a positive integer")


def test_a_command_run_as_expected_gives_its_plain_output():
    got = rd.run(rd.Example(PAGE, 1, ("solve", "--top", "0"), exit=2))
    assert got.error == "" and got.text.startswith("archsearch: error: solve: argument --top")


def test_figure_data_records_what_a_reader_sees_and_not_how_it_is_encoded():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw(y):
        fig, ax = plt.subplots()
        ax.plot([1, 2], y, label="hbm4", color="red")
        ax.set_xticks([1, 2], ["1k", "2k"])
        ax.set_title("t")
        ax.text(1, 2, "crossover")
        data = rd.figure_data(fig)
        plt.close(fig)
        return data

    (ax,) = draw([3.0, 1 / 3])["axes"]
    assert ax["title"] == "t" and ax["xticklabels"] == ["1k", "2k"] and ax["yticklabels"] is None
    assert ax["lines"] == [{"label": "hbm4", "x": [1.0, 2.0], "y": [3.0, 0.333333], "color": "#ff0000",
                            "linestyle": "-", "marker": "None"}]
    assert ax["texts"] == [{"text": "crossover", "xy": [1.0, 2.0]}]
    assert draw([3.0, 1 / 3]) == draw([3.0, 1 / 3]) != draw([3.0, 0.5])


def test_data_json_keeps_number_lists_on_one_line():
    assert rd.data_json({"x": [1.0, None, 2e-07], "s": ["a"]}) == \
        '{\n "x": [1.0, null, 2e-07],\n "s": [\n  "a"\n ]\n}\n'


def test_unknown_arguments_are_refused(capsys):
    assert rd.main(["--writ"]) == 2
    assert "refresh_docs.py --write" in capsys.readouterr().err
