"""The tutorial's flows (examples/tutorial.rs) in Python with boto3, as the tutorial writes them,
against a running `s3lite serve`. Reads S3LITE_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY;
exits non-zero if a step does not behave as S3 does."""

import os
import sys
import tempfile
import uuid

import boto3
from botocore.exceptions import ClientError

REGION = "eu-west-1"


def check(ok, what):
    if not ok:
        print(f"step misbehaved: {what}")
        sys.exit(1)


def code(e):
    return e.response["Error"]["Code"]


def main():
    endpoint = os.environ["S3LITE_ENDPOINT"]
    session = boto3.session.Session(region_name=REGION)
    client = session.client("s3", endpoint_url=endpoint)
    s3 = session.resource("s3", endpoint_url=endpoint)

    print("== 2. create two buckets in the store's region")
    first_name = "python-sdk-sample-" + uuid.uuid4().hex[:12]
    second_name = "python-sdk-sample-" + uuid.uuid4().hex[:12]
    out = client.create_bucket(Bucket=first_name, CreateBucketConfiguration={"LocationConstraint": REGION})
    print(f"client: created {first_name}: location {out['Location']}, request id {out['ResponseMetadata']['RequestId']}")
    check(out["ResponseMetadata"]["HTTPStatusCode"] == 200 and out["ResponseMetadata"]["RequestId"], "create_bucket")
    second = s3.create_bucket(Bucket=second_name, CreateBucketConfiguration={"LocationConstraint": REGION})
    print(f"resource: created {second.name}")
    try:
        client.create_bucket(Bucket="elsewhere-" + uuid.uuid4().hex[:8],
                             CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        check(False, "mismatched location constraint")
    except ClientError as e:
        print(f"a mismatched location constraint fails: {code(e)}")
        check(code(e) == "IllegalLocationConstraintException", "mismatched location constraint")
    try:
        client.create_bucket(Bucket=first_name, CreateBucketConfiguration={"LocationConstraint": REGION})
        check(False, "taken bucket name")
    except ClientError as e:
        print(f"a taken name fails: {code(e)}")
        check(code(e) == "BucketAlreadyOwnedByYou", "taken bucket name")

    print("== 3. upload local files three ways")
    files = tempfile.mkdtemp()
    first_file = os.path.join(files, uuid.uuid4().hex[:6] + "_first.txt")
    third_file = os.path.join(files, uuid.uuid4().hex[:6] + "_third.txt")
    with open(first_file, "wb") as f:
        f.write(b"f" * 300)
    with open(third_file, "wb") as f:
        f.write(b"t" * 400)
    first_key, third_key = os.path.basename(first_file), os.path.basename(third_file)
    first_bucket = s3.Bucket(first_name)
    first_bucket.Object(first_key).upload_file(first_file)
    second.upload_file(Filename=first_file, Key=first_key)
    client.upload_file(third_file, first_name, third_key,
                       ExtraArgs={"ContentType": "text/plain", "Metadata": {"purpose": "tutorial"}})
    print("uploaded through an object, a bucket and the client")

    print("== 4. lazy loading")
    first_object = s3.Object(first_name, first_key)
    check(first_object.content_length == 300, "content length")
    print(f"content length {first_object.content_length}, ETag {first_object.e_tag}")
    head = client.head_object(Bucket=first_name, Key=third_key)
    check(head["ContentType"] == "text/plain" and head["Metadata"] == {"purpose": "tutorial"}, "extra args kept")

    print("== 5. download, copy, delete")
    download = os.path.join(files, "downloaded.txt")
    first_object.download_file(download)
    check(open(download, "rb").read() == open(first_file, "rb").read(), "downloaded bytes match")
    copied = second.Object(third_key)
    copied.copy_from(CopySource={"Bucket": first_name, "Key": third_key})
    check(copied.content_length == 400, "copy size")
    copied.delete()
    try:
        copied.reload()
        check(False, "the deleted copy is gone")
    except ClientError as e:
        check(code(e) in ("404", "NoSuchKey"), "the deleted copy is gone")
    print("copied and deleted the copy")

    print("== 6. versioning")
    first_bucket.Versioning().enable()
    check(first_bucket.Versioning().status == "Enabled", "versioning enabled")
    first_bucket.Object(first_key).upload_file(first_file)
    first_bucket.Object(first_key).upload_file(third_file)
    current = s3.Object(first_name, first_key)
    check(current.version_id not in (None, "null") and current.content_length == 400, "the newest upload is current")
    print(f"current version {current.version_id}")

    print("== 6b. server-side encryption")
    third_object = s3.Object(first_name, third_key)
    third_object.upload_file(third_file, ExtraArgs={"ServerSideEncryption": "AES256"})
    check(third_object.server_side_encryption == "AES256", "the object reports AES256")
    with open(third_file, "rb") as f:
        check(third_object.get()["Body"].read() == f.read(), "an encrypted object reads back as written")
    print(f"server_side_encryption = {third_object.server_side_encryption}")

    print("== 6c. ACLs: disabled on today's new buckets; enabled the documented way")
    try:
        second.put_object(Key="public.txt", Body=b"hello, world", ACL="public-read")
        check(False, "a public-read upload into a new bucket fails")
    except ClientError as e:
        print(f"upload with ACL public-read fails: {code(e)}")
        check(code(e) == "AccessControlListNotSupported", "ACLs are disabled on a new bucket")
    client.put_bucket_ownership_controls(
        Bucket=second_name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    client.delete_public_access_block(Bucket=second_name)
    second.put_object(Key="public.txt", Body=b"hello, world", ACL="public-read")
    acl = s3.ObjectAcl(second_name, "public.txt")
    grants = [(g["Grantee"].get("Type"), g["Grantee"].get("URI"), g["Permission"]) for g in acl.grants]
    print(f"grants {grants}")
    check(
        grants == [("CanonicalUser", None, "FULL_CONTROL"),
                   ("Group", "http://acs.amazonaws.com/groups/global/AllUsers", "READ")],
        "owner FULL_CONTROL and AllUsers READ",
    )
    import urllib.request
    import urllib.error
    url = f"{endpoint}/{second_name}/public.txt"
    with urllib.request.urlopen(url) as r:
        check(r.status == 200 and r.read() == b"hello, world", "anonymous read of a public-read object")
    acl.put(ACL="private")
    try:
        urllib.request.urlopen(url)
        check(False, "anonymous read after put ACL private is denied")
    except urllib.error.HTTPError as e:
        print(f"after ACL private, anonymous read: HTTP {e.code}")
        check(e.code == 403, "anonymous read denied")

    print("== 7. traverse")
    names = [b.name for b in s3.buckets.all()]
    listed = client.list_buckets()
    check(sorted(names) == sorted([first_name, second_name]) and len(listed["Buckets"]) == 2, "two buckets")
    for bucket in (first_bucket, second):
        for summary in bucket.objects.all():
            obj = summary.Object()
            print(f"  {bucket.name}/{summary.key}: {summary.size} bytes, class {summary.storage_class}, "
                  f"version {obj.version_id}, metadata {obj.metadata}")
            check(summary.storage_class == "STANDARD", "storage class")
    versions = list(first_bucket.object_versions.all())
    check(len(versions) == 5, f"five versions in the first bucket (two keys, each a null version and newer ones), got {len(versions)}")

    print("== 7b. multipart: boto3's transfer manager above 8 MB, and the low-level calls")
    big = os.path.join(files, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(20 * 1024 * 1024 + 5))
    client.upload_file(big, first_name, "big.bin")
    head = client.head_object(Bucket=first_name, Key="big.bin")
    check(head["ETag"].endswith('-3"'), f"multipart ETag {head['ETag']}")
    back = os.path.join(files, "big.back")
    client.download_file(first_name, "big.bin", back)
    check(open(back, "rb").read() == open(big, "rb").read(), "multipart object reads back")
    up = client.create_multipart_upload(Bucket=first_name, Key="parts.bin")["UploadId"]
    client.upload_part(Bucket=first_name, Key="parts.bin", UploadId=up, PartNumber=1, Body=b"x" * 100)
    parts = client.list_parts(Bucket=first_name, Key="parts.bin", UploadId=up)["Parts"]
    check([p["PartNumber"] for p in parts] == [1], "list_parts")
    listed = client.list_multipart_uploads(Bucket=first_name).get("Uploads", [])
    check([u["UploadId"] for u in listed] == [up], "list_multipart_uploads")
    client.abort_multipart_upload(Bucket=first_name, Key="parts.bin", UploadId=up)
    try:
        client.list_parts(Bucket=first_name, Key="parts.bin", UploadId=up)
        check(False, "an aborted upload is gone")
    except ClientError as e:
        check(code(e) == "NoSuchUpload", f"aborted upload: {code(e)}")
    client.delete_object(Bucket=first_name, Key="big.bin")

    print("== 8. clean up")
    try:
        first_bucket.delete()
        check(False, "non-empty bucket")
    except ClientError as e:
        check(code(e) == "BucketNotEmpty", "non-empty bucket")
    for bucket in (first_bucket, second):
        for batch in bucket.object_versions.all().delete():
            check(not batch.get("Errors"), "every version deleted")
    first_bucket.delete()
    client.delete_bucket(Bucket=second_name)
    check(client.list_buckets()["Buckets"] == [], "no bucket left")
    # A presigned GET, as boto3 makes it.
    client.create_bucket(Bucket=first_name, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_object(Bucket=first_name, Key="shared.txt", Body=b"shared")
    # boto3 presigns with SigV2 unless told otherwise; s3lite refuses SigV2 (README, "The S3 HTTP
    # host"), as S3 does for buckets made since 2020, so the presigning client asks for SigV4.
    from botocore.config import Config
    signer = session.client("s3", endpoint_url=endpoint, config=Config(signature_version="s3v4"))
    url = signer.generate_presigned_url("get_object", Params={"Bucket": first_name, "Key": "shared.txt"}, ExpiresIn=60)
    import urllib.request
    check(urllib.request.urlopen(url).read() == b"shared", "presigned GET")
    client.delete_object(Bucket=first_name, Key="shared.txt")
    client.delete_bucket(Bucket=first_name)
    print("== done: every step behaved as S3 does")


if __name__ == "__main__":
    main()
