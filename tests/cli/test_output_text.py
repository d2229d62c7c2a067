"""What hakobu prints of a user's names and paths is printed as written.

rich turns `:name:` into an emoji by default: an output folder `out:ok:dir` (or an ARN's
`...:ok:...`) would come out as `out🆗dir`, a path that does not exist.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_hakobu


def test_a_path_with_colons_is_printed_as_typed(tmp_path: Path) -> None:
    assert run_hakobu("init", "--app", "shop", cwd=tmp_path).code == 0
    result = run_hakobu("eject", "-o", "out:ok:dir", cwd=tmp_path)
    assert result.code == 0, result.output
    assert "Wrote out:ok:dir/main.tf.json" in result.stdout
    assert (tmp_path / "out:ok:dir" / "main.tf.json").is_file()
