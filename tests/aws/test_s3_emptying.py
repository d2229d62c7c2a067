"""The storage bucket's guard for `hakobu destroy`, against a real moto server over HTTP:
a versioned bucket counts as holding data while any version or delete marker is left,
and `--delete-data` empties it completely, past one page of versions, so S3 then lets
the bucket be deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hakobu.aws.s3 import empty_bucket, holds_objects
from tests.support.moto_server import REGION, moto_server


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with moto_server() as aws:
        yield aws.client("s3")


def _versioned_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def test_a_deleted_upload_still_counts_until_its_versions_are_gone(s3: Any) -> None:
    bucket = _versioned_bucket(s3, "app-uploads-deleted")
    assert not holds_objects(s3, bucket)
    s3.put_object(Bucket=bucket, Key="avatars/1.png", Body=b"one")
    s3.put_object(Bucket=bucket, Key="avatars/1.png", Body=b"two")
    s3.delete_object(Bucket=bucket, Key="avatars/1.png")  # a delete marker on top
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # looks empty...
    assert holds_objects(s3, bucket)  # ...but two versions and a marker are kept
    with pytest.raises(s3.exceptions.ClientError, match="BucketNotEmpty"):
        s3.delete_bucket(Bucket=bucket)

    assert empty_bucket(s3, bucket) == 3
    assert not holds_objects(s3, bucket)
    s3.delete_bucket(Bucket=bucket)


def test_emptying_goes_past_one_page_of_versions(s3: Any) -> None:
    bucket = _versioned_bucket(s3, "app-uploads-many")
    for number in range(1005):  # one page of list_object_versions holds 1,000
        s3.put_object(Bucket=bucket, Key=f"files/{number:04}", Body=b"x")
    assert empty_bucket(s3, bucket) == 1005
    assert not holds_objects(s3, bucket)
    s3.delete_bucket(Bucket=bucket)


def test_a_bucket_that_does_not_exist_holds_nothing(s3: Any) -> None:
    assert not holds_objects(s3, "app-uploads-never-created")
