"""The aws CLI (from PyPI, default settings) against the S3 endpoint over HTTP and HTTPS:
`aws s3 mb/cp/sync/ls/rm/presign` and `aws s3api` calls."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server


@pytest.fixture(params=["http", "https"])
def endpoint(request: pytest.FixtureRequest) -> Server:
    found: Server = request.getfixturevalue("server" if request.param == "http" else "tls_server")
    return found


class Aws:
    def __init__(self, server: Server, tmp: Path) -> None:
        key_id, secret = server.s3_credentials(server.register("cli"))
        self.server = server
        self.env = {
            **os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"), "AWS_PAGER": "",
        }  # fmt: skip

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", self.server.s3_url]
        if self.server.ca_file:
            command += ["--ca-bundle", self.server.ca_file]
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            command, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        if check:
            assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--output", "json").stdout)


@pytest.fixture
def aws(endpoint: Server, tmp_path: Path) -> Aws:
    return Aws(endpoint, tmp_path)


def test_mb_cp_ls_sync_rm_rb(aws: Aws, tmp_path: Path) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    aws("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(os.urandom(9 * 1024 * 1024))  # multipart with defaults
    aws("s3", "cp", str(src / "a.txt"), f"s3://{bucket}/single/a.txt")
    aws("s3", "sync", str(src), f"s3://{bucket}/synced")
    listing = aws("s3", "ls", f"s3://{bucket}", "--recursive").stdout
    for key in ("single/a.txt", "synced/a.txt", "synced/sub/b.bin"):
        assert key in listing
    down = tmp_path / "down"
    aws("s3", "sync", f"s3://{bucket}/synced", str(down))
    assert (down / "a.txt").read_text() == "alpha"
    assert (down / "sub" / "b.bin").read_bytes() == (src / "sub" / "b.bin").read_bytes()
    again = aws("s3", "sync", str(src), f"s3://{bucket}/synced").stdout
    assert "upload:" not in again  # nothing changed: sync compares sizes and times
    aws("s3", "rm", f"s3://{bucket}", "--recursive")
    aws("s3", "rb", f"s3://{bucket}")
    assert bucket not in aws("s3", "ls").stdout


def test_s3api_versioning_and_errors(aws: Aws, tmp_path: Path) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    aws("s3api", "create-bucket", "--bucket", bucket)
    aws("s3api", "put-bucket-versioning", "--bucket", bucket,
        "--versioning-configuration", "Status=Enabled")  # fmt: skip
    body = tmp_path / "v"
    for text in ("one", "two"):
        body.write_text(text)
        aws("s3api", "put-object", "--bucket", bucket, "--key", "doc", "--body", str(body))
    versions = aws.json("s3api", "list-object-versions", "--bucket", bucket)["Versions"]
    assert [v["IsLatest"] for v in versions] == [True, False]
    missing = aws("s3api", "get-object", "--bucket", bucket, "--key", "nope", str(tmp_path / "o"),
                  check=False)  # fmt: skip
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr
    full = aws("s3", "rb", f"s3://{bucket}", check=False)
    assert full.returncode != 0 and "BucketNotEmpty" in full.stderr
    aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "doc",
        "--tagging", "TagSet=[{Key=owner,Value=cli}]")  # fmt: skip
    tags = aws.json("s3api", "get-object-tagging", "--bucket", bucket, "--key", "doc")
    assert tags["TagSet"] == [{"Key": "owner", "Value": "cli"}]
    aws("s3", "cp", str(body), f"s3://{bucket}/tagged")
    aws("s3api", "put-object", "--bucket", bucket, "--key", "tagged", "--body", str(body),
        "--tagging", "a=1&b=2")  # fmt: skip
    assert len(aws.json("s3api", "get-object-tagging", "--bucket", bucket,
                        "--key", "tagged")["TagSet"]) == 2  # fmt: skip


def test_presign(aws: Aws, tmp_path: Path) -> None:
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    aws("s3", "mb", f"s3://{bucket}")
    (tmp_path / "p.txt").write_text("shared")
    aws("s3", "cp", str(tmp_path / "p.txt"), f"s3://{bucket}/p.txt")
    url = aws("s3", "presign", f"s3://{bucket}/p.txt", "--expires-in", "60").stdout.strip()
    ca = aws.server.ca_file
    verify = ssl.create_default_context(cafile=ca) if ca else True
    assert httpx.get(url, verify=verify).text == "shared"
