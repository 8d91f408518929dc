# Fixtures for the end-to-end suite: a rampart process factory and backend factories. Each
# fixture stops exactly what it started (by PID / its own sockets and threads) and fails the test
# loudly when a process does not exit cleanly or a thread leaks.
import os
import resource
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import util  # noqa: E402


def pytest_configure(config):
    if util.RAMPART_BIN and not os.access(util.RAMPART_BIN, os.X_OK):
        raise pytest.UsageError(f"RAMPART_BIN={util.RAMPART_BIN} is not an executable file")
    # 1,000 concurrent clients need a few thousand descriptors here and in rampart (inherited)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def pytest_collection_modifyitems(config, items):
    if not util.RAMPART_BIN:
        skip = pytest.mark.skip(reason="RAMPART_BIN is not set")
        for item in items:
            if "test_harness" not in item.nodeid:
                item.add_marker(skip)


@pytest.fixture
def backend():
    """Factory: backend(name, port=0) -> a started util.Backend (port: restart a killed one)."""
    yield from util.started_servers(
        lambda n, name=None, port=0: util.Backend(name or f"b{n}", port=port))


@pytest.fixture
def ws_backend():
    yield from util.started_servers(lambda n: util.WsBackend())


@pytest.fixture
def rampart(tmp_path):
    """Factory: rampart(config_dict_or_text, port=..., args=[...]) -> a started util.Rampart.
    At teardown: SIGTERM, bounded wait, exit code 0, and (RAMPART_SANITIZED=1) no sanitizer
    report on stderr."""
    started = []

    def factory(config=None, *, args=None, port=None, name=None, wait=True):
        r = util.Rampart(tmp_path, config, args=args, port=port,
                         name=name or f"rampart{len(started) + 1}")
        started.append(r)
        r.start(wait=wait)
        return r

    yield factory
    problems = []
    for r in started:
        if r.proc is not None:
            problems += r.stop()
    if problems:
        pytest.fail("\n".join(problems))
