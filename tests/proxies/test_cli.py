"""nas-inspect --proxy/--data, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys


def nas_inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nas.cli.inspect", *args], capture_output=True, text=True, timeout=300)


def test_default_proxy_needs_no_data() -> None:
    from nas.proxies import DEFAULT_PROXY

    result = nas_inspect("nas_bench_macro", "--sample", "1", "--proxy", "default", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["proxy_name"] == f"{DEFAULT_PROXY} (default)" and isinstance(data["proxy"], float) and data["proxy_seconds"] >= 0


def test_data_spec_and_errors() -> None:
    result = nas_inspect("nas_bench_macro", "--sample", "1", "--proxy", "naswot", "--data", "synthetic", "--seed", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["proxy_name"] == "naswot"
    bad = nas_inspect("nas_bench_macro", "--sample", "1", "--proxy", "naswot", "--data", "mnist:/x")
    assert bad.returncode == 2 and "unknown kind 'mnist'" in bad.stderr and "Traceback" not in bad.stderr
