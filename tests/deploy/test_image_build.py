"""The Dockerfile and its build context, checked without a Docker engine: the stages, the
non-root runtime, the .dockerignore allowlist, the packages the build installs, and the pins."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from deploy_helpers import REPO, load_compose
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BUILD_TOOLS = re.compile(r"\b(apt-get|apt|apk|gcc|g\+\+|make|build-essential)\b")


def stages() -> list[tuple[str, list[str]]]:
    """The Dockerfile's stages as (FROM line, instruction lines), continuations joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    result: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            result.append((line, []))
        elif line and not line.startswith("#") and result:
            result[-1][1].append(line)
    return result


def ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (is_exception, regex) in file order (Docker's last match wins)."""
    rules = []
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().lstrip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?|\[[^]]*\])", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, token if token.startswith("[") else re.escape(token))
        rules.append((negated, re.compile(regex)))
    return rules


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``path`` (relative to the repository) reaches the Docker build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    included = True
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = negated
    return included


def context_files() -> list[str]:
    """Every file under the repository that the build context would carry."""
    rules = ignore_rules()
    exceptions = [regex.pattern for negated, regex in rules if negated]
    found = []
    for folder, dirs, files in os.walk(REPO):
        rel_dir = Path(folder).relative_to(REPO).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        # skip excluded folders (.git, .venv) unless an exception may reach inside them
        dirs[:] = [d for d in dirs if in_context(prefix + d, rules)
                   or any(p.startswith(re.escape(prefix + d)) or p.startswith("(")
                          for p in exceptions)]
        found += [prefix + f for f in files if in_context(prefix + f, rules)]
    return sorted(found)


def test_runtime_stage_is_slim_python_without_build_tools() -> None:
    (builder, _), (runtime, steps) = stages()
    assert builder.endswith(" AS builder") and runtime.endswith(" AS runtime")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11-slim(-\w+)?", base.group(1))
    assert all(not BUILD_TOOLS.search(step) for step in steps), steps
    assert any("pip uninstall --yes setuptools wheel pip" in step for step in steps)
    users = [step.split()[1] for step in steps if step.startswith("USER ")]
    assert users and not users[-1].startswith(("0", "root"))


def test_runtime_installs_only_wheels_from_the_builder() -> None:
    (_, build_steps), (_, steps) = stages()
    assert any(s.startswith("RUN pip wheel --wheel-dir /wheels") and s.endswith('".[postgres]"')
               for s in build_steps)
    install = [s for s in steps if "pip install" in s]
    assert len(install) == 1 and "--no-index" in install[0]
    assert '"western-heights-perimeter[postgres]"' in install[0]
    assert "from=builder,source=/wheels" in install[0]


def test_copied_files_exist_and_reach_the_build_context() -> None:
    rules = ignore_rules()
    copies = [step.split()[1:-1] for _, steps in stages() for step in steps
              if step.startswith("COPY ") and "--from" not in step]
    sources = [src for srcs in copies for src in srcs]
    assert "deploy/healthcheck.py" in sources
    for src in sources:
        assert (REPO / src).exists(), src
        assert in_context(src, rules), f"{src} is excluded by .dockerignore"


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    rules = ignore_rules()
    for path in (".env", ".git/config", ".venv/bin/python", "perimeter.db", "var/x.db",
                 "tests/conftest.py", "perimeter/__pycache__/config.cpython-311.pyc",
                 "deploy/mosquitto/acl", "sim/out.db-wal", "perimeter/alerts.db"):
        assert not in_context(path, rules), path
    files = context_files()
    assert "perimeter/config.py" in files and "sim/scenarios/default.yaml" in files
    assert not any(f.startswith((".git/", ".venv/", "tests/")) for f in files)


def test_compose_health_checks_run_the_script_the_image_carries() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY deploy/healthcheck.py /app/healthcheck.py" in dockerfile
    services = load_compose()["services"]
    for name in ("sim", "fusion", "api"):
        assert services[name]["healthcheck"]["test"] == [
            "CMD", "python", "/app/healthcheck.py", name]


def test_build_context_installs_every_module_and_data_file(tmp_path: Path) -> None:
    context, out = tmp_path / "context", tmp_path / "out"
    for rel in context_files():
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, context / rel)
    subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q",
                    "build_py", "--build-lib", str(out)], cwd=context, check=True,
                   capture_output=True)
    expected = {p.relative_to(REPO).as_posix() for pkg in ("perimeter", "sim", "services")
                for p in (REPO / pkg).rglob("*") if p.suffix in {".py", ".yaml"}
                and "__pycache__" not in p.parts}
    built = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert expected - built == set()
    probe = subprocess.run([sys.executable, "-c",
                            "import perimeter.config, sim.scenario, services.mqtt, perimeter;"
                            "print(perimeter.__file__)"],
                           cwd=tmp_path, env={"PYTHONPATH": str(out)}, capture_output=True,
                           text=True, check=True)
    assert probe.stdout.strip().startswith(str(out))


def test_pins_satisfy_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins: dict[str, str] = {}
    for line in (REPO / "deploy" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            assert canonicalize_name(name) not in pins, f"pinned twice: {name}"
            pins[canonicalize_name(name)] = version
    extras = project.get("optional-dependencies", {})
    for dependency in project["dependencies"] + extras.get("postgres", []):
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} has no pin in deploy/constraints.txt"
        assert requirement.specifier.contains(pins[name]), (dependency, pins[name])
