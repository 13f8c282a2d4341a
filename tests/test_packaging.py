"""The distributions: `python -m build` makes an sdist and a wheel that install and work.

One module-scoped build (`python -m build`: the sdist, then the wheel built from
the unpacked sdist, so a file missing from the sdist fails here too), installed
with `--no-deps` into a fresh venv that sees this environment's packages
(`--system-site-packages`, so TensorFlow is not downloaded again). Every check
runs from a directory outside the repository, so `import keras_l2l` cannot pick
up the source tree. About half a minute; the build's isolated environment
installs setuptools from the package index (or pip's cache).
"""

import json
import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from keras_l2l.presets import ALIASES

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(p.name for p in (ROOT / "keras_l2l" / "presets").iterdir()
                 if (p / "config.json").is_file())
LISTED = sorted(PRESETS + list(ALIASES))  # what the installed package lists: aliases too
EMBEDDED_DATA = sorted(p.name for p in (ROOT / "keras_l2l" / "data").glob("*.npz")) \
    if (ROOT / "keras_l2l" / "data").is_dir() else []
# Lines of setuptools' own warnings about the project's configuration (the
# "Package would be ignored" class, deprecated fields, license format, ...).
SETUPTOOLS_WARNINGS = ("SetuptoolsDeprecationWarning", "SetuptoolsWarning", "BuildBackendWarning",
                       "_DeprecatedConfig", "Package would be ignored")


def _run(args, cwd, **kwargs):
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)  # the checks must see only what the venv has installed
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """`{"wheel", "sdist", "log"}` of one `python -m build` of the source tree."""
    pytest.importorskip("build", reason="needs the `build` package (the test extra)")
    out = tmp_path_factory.mktemp("dist")
    try:
        done = _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out,
                    timeout=600)
    except AssertionError as error:
        if "Could not find a version that satisfies" in str(error):
            pytest.skip("python -m build could not install setuptools (no package index)")
        raise
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0], "log": done.stdout + done.stderr}


@pytest.fixture(scope="module")
def venv_python(dist, tmp_path_factory):
    """A fresh venv's python with the wheel installed (dependencies from this environment)."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=venv)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
          str(dist["wheel"])], cwd=venv)
    return python


def _in_venv(python, code):
    """Run `code` with the venv's python from a directory outside the repository; its JSON."""
    outside = python.parent.parent  # the venv directory itself
    out = _run([str(python), "-c", textwrap.dedent(code)], cwd=outside, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_build_has_no_setuptools_warnings(dist):
    flagged = [line for line in dist["log"].splitlines()
               if any(word in line for word in SETUPTOOLS_WARNINGS)]
    assert not flagged, "\n".join(flagged)


def test_wheel_metadata(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(info).decode()
        entry_points = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "keras-l2l = keras_l2l.cli:main" in entry_points
    for requirement in ("Requires-Dist: tensorflow>=2.16", "Requires-Dist: keras<4,>=3.12"):
        assert requirement in metadata
    for extra in ("test", "tfds", "docs"):
        assert f"Provides-Extra: {extra}" in metadata
    assert "License-Expression: Apache-2.0" in metadata
    assert not [n for n in names if n.startswith(("tests/", "results/", "notebooks/"))]


def test_wheel_and_sdist_hold_every_preset(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        in_wheel = set(wheel.namelist())
    with tarfile.open(dist["sdist"]) as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert PRESETS and set(ALIASES.values()) <= set(PRESETS)  # every alias has its files
    for name in PRESETS:
        for file in ("config.json", "weights.npz", "provenance.json"):
            path = f"keras_l2l/presets/{name}/{file}"
            assert path in in_wheel and path in in_sdist, path


def test_installed_wheel_imports_and_loads_every_preset(venv_python):
    found = _in_venv(venv_python, """
        import json, keras_l2l
        from keras_l2l import LearnedOptimizer, TrainedRule
        listing = keras_l2l.list_presets()
        loaded = {}
        for name in listing:
            optimizer = LearnedOptimizer.from_preset(name)
            loaded[name] = type(TrainedRule.from_preset(name).rule).__name__
        default = LearnedOptimizer()
        print(json.dumps({"file": keras_l2l.__file__, "presets": sorted(listing),
                          "rules": loaded, "version": keras_l2l.__version__}))
    """)
    venv = venv_python.parent.parent
    assert Path(found["file"]).resolve().is_relative_to(venv.resolve()), found["file"]
    assert not Path(found["file"]).resolve().is_relative_to(ROOT)
    assert found["presets"] == LISTED
    assert found["rules"]["general"] == "HierarchicalLSTM"


def test_installed_wheel_ships_the_embedded_data(dist, venv_python):
    if not EMBEDDED_DATA:
        pytest.skip("keras_l2l/data/*.npz is not in the source tree yet: nothing to ship")
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        in_wheel = set(wheel.namelist())
    for name in EMBEDDED_DATA:
        assert f"keras_l2l/data/{name}" in in_wheel, name
    found = _in_venv(venv_python, """
        import json
        from importlib import resources
        data = resources.files("keras_l2l").joinpath("data")
        print(json.dumps(sorted(p.name for p in data.iterdir() if p.name.endswith(".npz"))))
    """)
    assert found == EMBEDDED_DATA


def test_console_script_runs(venv_python):
    script = venv_python.parent / "keras-l2l"
    out = _run([str(script), "presets", "--json"], cwd=venv_python.parent, timeout=300).stdout
    listing = json.loads(out)
    assert sorted(listing) == LISTED
