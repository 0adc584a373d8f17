"""pyproject.toml and environment.yml must describe the same environment."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req):
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        reqs += extra
    return {_name(r): r.replace(" ", "") for r in reqs}, data["project"]["requires-python"]


def _environment_requirements():
    reqs, python = {}, None
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s*-\s+(\S.*)$", line)
        if not m or line.strip().endswith(":"):
            continue
        item = m.group(1).strip()
        if item in ("pip", "-e .") or item.startswith("-e "):
            continue
        if item.startswith("python"):
            python = item[len("python"):]
            continue
        reqs[_name(item)] = item.replace(" ", "")
    return reqs, python


def test_same_packages_and_versions():
    py_reqs, py_python = _pyproject_requirements()
    env_reqs, env_python = _environment_requirements()
    assert set(py_reqs) == set(env_reqs), (
        f"only in pyproject.toml: {sorted(set(py_reqs) - set(env_reqs))}; "
        f"only in environment.yml: {sorted(set(env_reqs) - set(py_reqs))}")
    for name in py_reqs:
        assert py_reqs[name] == env_reqs[name], f"{name}: {py_reqs[name]} vs {env_reqs[name]}"
    assert py_python == env_python == ">=3.10"


def test_environment_installs_the_project():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_parser_sees_a_difference(tmp_path, monkeypatch):
    """The comparison is not vacuous: drop a package from a copy and it differs."""
    text = (ROOT / "environment.yml").read_text().replace("  - ipympl>=0.9\n", "")
    fake = tmp_path / "environment.yml"
    fake.write_text(text)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    env_reqs, _ = _environment_requirements()
    py_reqs, _ = _pyproject_requirements()
    assert "ipympl" in py_reqs and "ipympl" not in env_reqs
    assert len(env_reqs) >= 7
