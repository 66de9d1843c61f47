//! aws-sdk-s3 against s3lite's access control, over both transports: the tutorial's ACL steps on
//! today's S3 (ACLs disabled, then enabled the documented way), anonymous reads by raw request,
//! ACL reads and writes in both forms, and a sample of the permission matrix for another account.

mod common;
#[path = "common/suite.rs"]
mod suite;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, Grant, Grantee, ObjectCannedAcl, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, Permission, PublicAccessBlockConfiguration, Type,
};
use common::{Env, Transport, code, status};

async fn tutorial_acl_steps(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("acls").send().await.unwrap();
    let own = s3.get_bucket_ownership_controls().bucket("acls").send().await.unwrap();
    let rule = &own.ownership_controls().unwrap().rules()[0];
    assert_eq!(rule.object_ownership(), &ObjectOwnership::BucketOwnerEnforced);
    let bpa = s3.get_public_access_block().bucket("acls").send().await.unwrap();
    assert_eq!(bpa.public_access_block_configuration().unwrap().block_public_acls(), Some(true));
    let put = |acl: ObjectCannedAcl| {
        s3.put_object().bucket("acls").key("k").acl(acl).body(ByteStream::from_static(b"public")).send()
    };
    let e = put(ObjectCannedAcl::PublicRead).await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessControlListNotSupported".into(), 400));

    let controls = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder().object_ownership(ObjectOwnership::ObjectWriter).build().unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_ownership_controls().bucket("acls").ownership_controls(controls).send().await.unwrap();
    let e = put(ObjectCannedAcl::PublicRead).await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403), "Block Public Access still on");
    s3.delete_public_access_block().bucket("acls").send().await.unwrap();
    let e = s3.get_public_access_block().bucket("acls").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("NoSuchPublicAccessBlockConfiguration".into(), 404));
    put(ObjectCannedAcl::PublicRead).await.unwrap();

    let acl = s3.get_object_acl().bucket("acls").key("k").send().await.unwrap();
    let owner = env.store.owner().canonical_id;
    assert_eq!(acl.owner().unwrap().id(), Some(owner.as_str()));
    let grants: Vec<(Option<&str>, Option<&str>, &Permission)> = acl
        .grants()
        .iter()
        .map(|g| (g.grantee().unwrap().id(), g.grantee().unwrap().uri(), g.permission().unwrap()))
        .collect();
    assert_eq!(
        grants,
        vec![
            (Some(owner.as_str()), None, &Permission::FullControl),
            (None, Some("http://acs.amazonaws.com/groups/global/AllUsers"), &Permission::Read),
        ]
    );
    let anon = env.raw("GET", "/acls/k", &[], b"").await;
    assert_eq!((anon.status, anon.text()), (200, "public".to_owned()));

    s3.put_object_acl().bucket("acls").key("k").acl(ObjectCannedAcl::Private).send().await.unwrap();
    let anon = env.raw("GET", "/acls/k", &[], b"").await;
    assert_eq!(anon.status, 403, "{}", anon.text());
    assert!(anon.text().contains("<Code>AccessDenied</Code>"), "{}", anon.text());
    // A missing key answers an anonymous caller 403 too: it may not list the bucket.
    let anon = env.raw("GET", "/acls/nope", &[], b"").await;
    assert_eq!(anon.status, 403);
}

async fn acl_bodies_and_other_accounts(env: Env) {
    let s3 = &env.client;
    let other = env.store.create_account("other").unwrap();
    let other_keys = env.store.create_access_key(&other).unwrap();
    let as_other = env.client_with(&other_keys.access_key_id, &other_keys.secret_access_key, "us-east-1");
    s3.create_bucket().bucket("shared").send().await.unwrap();
    let controls = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder().object_ownership(ObjectOwnership::ObjectWriter).build().unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_ownership_controls().bucket("shared").ownership_controls(controls).send().await.unwrap();
    s3.put_object().bucket("shared").key("k").body(ByteStream::from_static(b"mine")).send().await.unwrap();
    let e = as_other.get_object().bucket("shared").key("k").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));
    let e = as_other.list_objects_v2().bucket("shared").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));

    // The body form: the owner's FULL_CONTROL and the other account's READ.
    let current = s3.get_object_acl().bucket("shared").key("k").send().await.unwrap();
    let mut grants = current.grants().to_vec();
    grants.push(
        Grant::builder()
            .grantee(Grantee::builder().r#type(Type::CanonicalUser).id(&other.canonical_id).build().unwrap())
            .permission(Permission::Read)
            .build(),
    );
    let policy = AccessControlPolicy::builder()
        .set_grants(Some(grants))
        .owner(current.owner().unwrap().clone())
        .build();
    s3.put_object_acl().bucket("shared").key("k").access_control_policy(policy).send().await.unwrap();
    let got = as_other.get_object().bucket("shared").key("k").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"mine");
    let e = as_other.get_object_acl().bucket("shared").key("k").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403), "READ is not READ_ACP");

    // The header form on the bucket: WRITE for the other account.
    s3.put_bucket_acl()
        .bucket("shared")
        .grant_write(format!("id=\"{}\"", other.canonical_id))
        .send()
        .await
        .unwrap();
    as_other
        .put_object()
        .bucket("shared")
        .key("theirs")
        .body(ByteStream::from_static(b"t"))
        .send()
        .await
        .unwrap();
    let e = s3.get_object().bucket("shared").key("theirs").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403), "the bucket's owner does not own it");
    s3.delete_object().bucket("shared").key("theirs").send().await.unwrap();
    let bacl = s3.get_bucket_acl().bucket("shared").send().await.unwrap();
    assert_eq!(bacl.grants().len(), 1);
    assert_eq!(bacl.grants()[0].permission(), Some(&Permission::Write));

    // Errors over the wire.
    let e = s3
        .put_object_acl()
        .bucket("shared")
        .key("k")
        .grant_read("emailAddress=\"someone@example.com\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("UnresolvableGrantByEmailAddress".into(), 400));
    let e = s3.get_bucket_ownership_controls().bucket("no-such-bucket").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("NoSuchBucket".into(), 404));
    s3.delete_bucket_ownership_controls().bucket("shared").send().await.unwrap();
    let e = s3.get_bucket_ownership_controls().bucket("shared").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("OwnershipControlsNotFoundError".into(), 404));
    let block = PublicAccessBlockConfiguration::builder().block_public_acls(true).build();
    s3.put_public_access_block()
        .bucket("shared")
        .public_access_block_configuration(block)
        .send()
        .await
        .unwrap();
    let e = s3
        .put_object_acl()
        .bucket("shared")
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));
    let e = as_other
        .put_public_access_block()
        .bucket("shared")
        .public_access_block_configuration(PublicAccessBlockConfiguration::builder().build())
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));
}

suite!(tutorial_acl_steps, acl_bodies_and_other_accounts);
