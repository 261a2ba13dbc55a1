#!/usr/bin/env python3
"""Smoke-test runner: starts `sluice serve` on a free port with a temporary
data directory and --enable-reset, runs every tests/smoke/test_*.py with
unittest, stops the server with SIGTERM and fails if any test failed or the
server did not exit cleanly.

Usage: python3 tests/smoke/run.py --binary bin/sluice [-k PATTERN] [-v]
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 45


def isolate_aws_environment(env):
    """Dummy credentials and region; no user config, no metadata service,
    no CA bundle (the SDKs refuse custom endpoints with some bundles)."""
    for key in list(env):
        if key.startswith("AWS_"):
            del env[key]
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    })


class Server:
    """A sluice serve process whose log is captured to a file."""

    def __init__(self, binary, data_dir, log_path):
        self.log_path = log_path
        self.address = None
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [binary, "serve", "--addr", "127.0.0.1:0", "--data", data_dir, "--enable-reset", "--log-level", "debug"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self):
        pattern = re.compile(r'msg="sluice: serving" addr=(\S+)')
        with open(self.log_path, "w") as log:
            for line in self.proc.stderr:
                log.write(line)
                log.flush()
                match = pattern.search(line)
                if match and not self._ready.is_set():
                    self.address = match.group(1)
                    self._ready.set()
        self._ready.set()  # process exited: unblock wait_ready

    def wait_ready(self):
        if not self._ready.wait(START_TIMEOUT_SECONDS) or self.address is None:
            raise RuntimeError("sluice did not start")

    def stop(self):
        """SIGTERM, then wait; returns the exit code (None if it hung and was killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self._reader.join(10)
        return code

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="bin/sluice")
    parser.add_argument("-k", dest="patterns", action="append", help="only run tests matching this substring")
    parser.add_argument("-v", dest="verbosity", action="store_const", const=2, default=1)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"smoke: {binary} is not an executable; run `make build` first", file=sys.stderr)
        return 2

    isolate_aws_environment(os.environ)
    work = tempfile.mkdtemp(prefix="sluice-smoke-")
    server = Server(binary, os.path.join(work, "data"), os.path.join(work, "server.log"))
    ok = False
    try:
        server.wait_ready()
        os.environ["SLUICE_ENDPOINT"] = "http://" + server.address
        print(f"smoke: sluice serving on {server.address}, data in {work}", file=sys.stderr)
        sys.path.insert(0, HERE)
        loader = unittest.TestLoader()
        if args.patterns:
            loader.testNamePatterns = [f"*{p}*" for p in args.patterns]
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
        if suite.countTestCases() == 0:
            print("smoke: no tests found", file=sys.stderr)
        else:
            result = unittest.TextTestRunner(verbosity=args.verbosity).run(suite)
            ok = result.wasSuccessful()
    finally:
        code = server.stop()
        if code != 0:
            print(f"smoke: sluice exited with {code} after SIGTERM (want 0)", file=sys.stderr)
            ok = False
        if not ok:
            print("---- sluice log ----", file=sys.stderr)
            print(server.log(), file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
