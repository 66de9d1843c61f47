//! The permission matrix: operation × principal × setup, each with the answer S3 gives, run through
//! the S3 API on a fresh in-memory store per case (hundreds of cases). Setups cover today's
//! defaults (ACLs disabled), classic buckets with private, public and per-account ACLs on the
//! bucket and the object, Block Public Access per bucket and store-wide, and objects written by
//! another account under each Object Ownership mode.

use s3lite::s3::S3;
use s3lite::s3::types::*;
use s3lite::{Account, Profile, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    GetObject,
    HeadObject,
    GetMissing,
    List,
    ListVersions,
    PutObject,
    PutObjectPublicRead,
    DeleteObject,
    DeleteObjectsK,
    CopyK,
    GetObjectAcl,
    PutObjectAclPrivate,
    GetBucketAcl,
    PutBucketAclPrivate,
    GetBucketVersioning,
    HeadBucket,
    CreateMultipart,
}

const OPS: [Op; 17] = [
    Op::GetObject,
    Op::HeadObject,
    Op::GetMissing,
    Op::List,
    Op::ListVersions,
    Op::PutObject,
    Op::PutObjectPublicRead,
    Op::DeleteObject,
    Op::DeleteObjectsK,
    Op::CopyK,
    Op::GetObjectAcl,
    Op::PutObjectAclPrivate,
    Op::GetBucketAcl,
    Op::PutBucketAclPrivate,
    Op::GetBucketVersioning,
    Op::HeadBucket,
    Op::CreateMultipart,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    Other,
    Anonymous,
}

/// What the case's store was set up with.
struct World {
    store: Store,
    other: Account,
}

impl World {
    fn as_(&self, who: Who) -> S3 {
        match who {
            Who::Owner => self.store.s3(),
            Who::Other => self.store.s3_as(&self.other),
            Who::Anonymous => self.store.s3_anonymous(),
        }
    }
}

fn put(s3: &S3, key: &str, f: impl FnOnce(&mut PutObjectRequest)) {
    let mut req =
        PutObjectRequest { bucket: "bkt".into(), key: key.into(), body: "data".into(), ..Default::default() };
    f(&mut req);
    s3.put_object(req).unwrap();
}

fn bucket_acl(s3: &S3, f: impl FnOnce(&mut PutBucketAclRequest)) {
    let mut req = PutBucketAclRequest { bucket: "bkt".into(), ..Default::default() };
    f(&mut req);
    s3.put_bucket_acl(req).unwrap();
}

/// A setup: its name, profile, and what it does after bucket `b` is created by the owner.
struct Setup {
    name: &'static str,
    profile: Profile,
    prepare: fn(&World),
    /// Per principal, the operations that succeed (every other one is `AccessDenied`, except
    /// as `special` says).
    allowed: [(Who, &'static [Op]); 3],
    /// Cases with another answer: (principal, op, error code).
    special: &'static [(Who, Op, &'static str)],
}

const ALL: &[Op] = &OPS;
const NONE: &[Op] = &[];
const READ_K: &[Op] = &[Op::GetObject, Op::HeadObject];
const LIST: &[Op] = &[Op::List, Op::ListVersions, Op::HeadBucket, Op::GetMissing];

fn owner_puts_k(w: &World) {
    put(&w.store.s3(), "k", |_| {});
}

fn setups() -> Vec<Setup> {
    let classic = Profile::classic();
    let today = Profile::latest();
    vec![
        Setup {
            name: "today: defaults (BucketOwnerEnforced, Block Public Access on)",
            profile: today,
            prepare: owner_puts_k,
            allowed: [(Who::Owner, ALL), (Who::Other, NONE), (Who::Anonymous, NONE)],
            special: &[(Who::Owner, Op::PutObjectPublicRead, "AccessControlListNotSupported")],
        },
        Setup {
            name: "classic: private bucket and object",
            profile: classic,
            prepare: owner_puts_k,
            allowed: [(Who::Owner, ALL), (Who::Other, NONE), (Who::Anonymous, NONE)],
            special: &[],
        },
        Setup {
            name: "classic: object public-read",
            profile: classic,
            prepare: |w| put(&w.store.s3(), "k", |r| r.acl = Some("public-read".into())),
            allowed: [(Who::Owner, ALL), (Who::Other, READ_K), (Who::Anonymous, READ_K)],
            special: &[],
        },
        Setup {
            name: "classic: bucket public-read",
            profile: classic,
            prepare: |w| {
                owner_puts_k(w);
                bucket_acl(&w.store.s3(), |r| r.acl = Some("public-read".into()));
            },
            allowed: [(Who::Owner, ALL), (Who::Other, LIST), (Who::Anonymous, LIST)],
            special: &[],
        },
        Setup {
            name: "classic: bucket public-read-write",
            profile: classic,
            prepare: |w| {
                owner_puts_k(w);
                bucket_acl(&w.store.s3(), |r| r.acl = Some("public-read-write".into()));
            },
            allowed: [
                (Who::Owner, ALL),
                (
                    Who::Other,
                    &[
                        Op::List,
                        Op::ListVersions,
                        Op::HeadBucket,
                        Op::GetMissing,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::CreateMultipart,
                    ],
                ),
                (
                    Who::Anonymous,
                    &[
                        Op::List,
                        Op::ListVersions,
                        Op::HeadBucket,
                        Op::GetMissing,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::CreateMultipart,
                    ],
                ),
            ],
            special: &[],
        },
        Setup {
            name: "classic: object authenticated-read",
            profile: classic,
            prepare: |w| put(&w.store.s3(), "k", |r| r.acl = Some("authenticated-read".into())),
            allowed: [(Who::Owner, ALL), (Who::Other, READ_K), (Who::Anonymous, NONE)],
            special: &[],
        },
        Setup {
            name: "classic: object grants the other account READ",
            profile: classic,
            prepare: |w| {
                let id = w.other.canonical_id.clone();
                put(&w.store.s3(), "k", |r| r.grant_read = Some(format!("id=\"{id}\"")));
            },
            // Explicit grants replace the default: the owner keeps only what its ownership gives
            // (its ACL), not READ.
            allowed: [
                (
                    Who::Owner,
                    &[
                        Op::GetMissing,
                        Op::List,
                        Op::ListVersions,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::GetObjectAcl,
                        Op::PutObjectAclPrivate,
                        Op::GetBucketAcl,
                        Op::PutBucketAclPrivate,
                        Op::GetBucketVersioning,
                        Op::HeadBucket,
                        Op::CreateMultipart,
                    ],
                ),
                (Who::Other, READ_K),
                (Who::Anonymous, NONE),
            ],
            special: &[],
        },
        Setup {
            name: "classic: object grants the other account FULL_CONTROL",
            profile: classic,
            prepare: |w| {
                let id = w.other.canonical_id.clone();
                put(&w.store.s3(), "k", |r| r.acl = None);
                w.store
                    .s3()
                    .put_object_acl(PutObjectAclRequest {
                        bucket: "bkt".into(),
                        key: "k".into(),
                        grant_full_control: Some(format!("id=\"{id}\"")),
                        ..Default::default()
                    })
                    .unwrap();
            },
            allowed: [
                (
                    Who::Owner,
                    &[
                        Op::GetMissing,
                        Op::List,
                        Op::ListVersions,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::GetObjectAcl,
                        Op::PutObjectAclPrivate,
                        Op::GetBucketAcl,
                        Op::PutBucketAclPrivate,
                        Op::GetBucketVersioning,
                        Op::HeadBucket,
                        Op::CreateMultipart,
                    ],
                ),
                (Who::Other, &[Op::GetObject, Op::HeadObject, Op::GetObjectAcl, Op::PutObjectAclPrivate]),
                (Who::Anonymous, NONE),
            ],
            special: &[],
        },
        Setup {
            name: "classic: object public-read, bucket IgnorePublicAcls",
            profile: classic,
            prepare: |w| {
                put(&w.store.s3(), "k", |r| r.acl = Some("public-read".into()));
                let ignore =
                    PublicAccessBlockConfiguration { ignore_public_acls: true, ..Default::default() };
                w.store.s3().put_public_access_block("bkt", ignore).unwrap();
            },
            allowed: [(Who::Owner, ALL), (Who::Other, NONE), (Who::Anonymous, NONE)],
            special: &[],
        },
        Setup {
            name: "classic: object public-read, store-wide BlockPublicAcls",
            profile: classic,
            prepare: |w| {
                put(&w.store.s3(), "k", |r| r.acl = Some("public-read".into()));
                let block = PublicAccessBlockConfiguration { block_public_acls: true, ..Default::default() };
                w.store.s3().put_store_public_access_block(block).unwrap();
            },
            // Blocking new public ACLs leaves the one already there in force.
            allowed: [(Who::Owner, ALL), (Who::Other, READ_K), (Who::Anonymous, READ_K)],
            special: &[(Who::Owner, Op::PutObjectPublicRead, "AccessDenied")],
        },
        Setup {
            name: "today: ObjectWriter, Block Public Access deleted, object public-read",
            profile: today,
            prepare: |w| {
                let s3 = w.store.s3();
                s3.put_bucket_ownership_controls("bkt", ObjectOwnership::ObjectWriter).unwrap();
                s3.delete_public_access_block("bkt").unwrap();
                put(&s3, "k", |r| r.acl = Some("public-read".into()));
            },
            allowed: [(Who::Owner, ALL), (Who::Other, READ_K), (Who::Anonymous, READ_K)],
            special: &[],
        },
        Setup {
            name: "classic: the other account may write and overwrote k (owns it, private)",
            profile: classic,
            prepare: |w| {
                owner_puts_k(w);
                let id = w.other.canonical_id.clone();
                bucket_acl(&w.store.s3(), |r| r.grant_write = Some(format!("id=\"{id}\"")));
                put(&w.store.s3_as(&w.other), "k", |_| {});
            },
            allowed: [
                // The bucket's owner cannot read an object another account owns, but may delete it;
                // its explicit bucket grant (WRITE to the other) replaced its own FULL_CONTROL on
                // the bucket ACL, yet ownership keeps its bucket-level rights.
                (
                    Who::Owner,
                    &[
                        Op::GetMissing,
                        Op::List,
                        Op::ListVersions,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::GetBucketAcl,
                        Op::PutBucketAclPrivate,
                        Op::GetBucketVersioning,
                        Op::HeadBucket,
                        Op::CreateMultipart,
                    ],
                ),
                (
                    Who::Other,
                    &[
                        Op::GetObject,
                        Op::HeadObject,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::CopyK,
                        Op::GetObjectAcl,
                        Op::PutObjectAclPrivate,
                        Op::CreateMultipart,
                    ],
                ),
                (Who::Anonymous, NONE),
            ],
            special: &[],
        },
        Setup {
            name: "classic: the other account wrote k with bucket-owner-full-control",
            profile: classic,
            prepare: |w| {
                let id = w.other.canonical_id.clone();
                bucket_acl(&w.store.s3(), |r| r.grant_write = Some(format!("id=\"{id}\"")));
                put(&w.store.s3_as(&w.other), "k", |r| r.acl = Some("bucket-owner-full-control".into()));
            },
            allowed: [
                (
                    Who::Owner,
                    &[
                        Op::GetObject,
                        Op::HeadObject,
                        Op::GetMissing,
                        Op::List,
                        Op::ListVersions,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::CopyK,
                        Op::GetObjectAcl,
                        Op::PutObjectAclPrivate,
                        Op::GetBucketAcl,
                        Op::PutBucketAclPrivate,
                        Op::GetBucketVersioning,
                        Op::HeadBucket,
                        Op::CreateMultipart,
                    ],
                ),
                (
                    Who::Other,
                    &[
                        Op::GetObject,
                        Op::HeadObject,
                        Op::PutObject,
                        Op::PutObjectPublicRead,
                        Op::DeleteObject,
                        Op::DeleteObjectsK,
                        Op::CopyK,
                        Op::GetObjectAcl,
                        Op::PutObjectAclPrivate,
                        Op::CreateMultipart,
                    ],
                ),
                (Who::Anonymous, NONE),
            ],
            special: &[],
        },
        Setup {
            name: "today: BucketOwnerPreferred, the other account wrote k with bucket-owner-full-control",
            profile: today,
            prepare: |w| {
                let s3 = w.store.s3();
                s3.put_bucket_ownership_controls("bkt", ObjectOwnership::BucketOwnerPreferred).unwrap();
                let id = w.other.canonical_id.clone();
                bucket_acl(&s3, |r| r.grant_write = Some(format!("id=\"{id}\"")));
                put(&w.store.s3_as(&w.other), "k", |r| r.acl = Some("bucket-owner-full-control".into()));
            },
            // The bucket's owner now owns k, private: the writer kept nothing on it.
            allowed: [
                (Who::Owner, ALL),
                (Who::Other, &[Op::PutObject, Op::DeleteObject, Op::DeleteObjectsK, Op::CreateMultipart]),
                (Who::Anonymous, NONE),
            ],
            // Block Public Access (all on, as created today) refuses a public ACL.
            special: &[
                (Who::Owner, Op::PutObjectPublicRead, "AccessDenied"),
                (Who::Other, Op::PutObjectPublicRead, "AccessDenied"),
            ],
        },
        Setup {
            name: "today: BucketOwnerEnforced with a bucket policy-less grant attempt",
            profile: today,
            prepare: |w| {
                owner_puts_k(w);
                // ACLs are disabled: a public ACL is refused, the private one is accepted and
                // changes nothing.
                let e = w
                    .store
                    .s3()
                    .put_bucket_acl(PutBucketAclRequest {
                        bucket: "bkt".into(),
                        acl: Some("public-read".into()),
                        ..Default::default()
                    })
                    .unwrap_err();
                assert_eq!(e.code(), "AccessControlListNotSupported");
            },
            allowed: [(Who::Owner, ALL), (Who::Other, NONE), (Who::Anonymous, NONE)],
            special: &[(Who::Owner, Op::PutObjectPublicRead, "AccessControlListNotSupported")],
        },
    ]
}

fn run(s3: &S3, op: Op) -> Result<(), s3lite::Error> {
    let get = |key: &str| GetObjectRequest { bucket: "bkt".into(), key: key.into(), ..Default::default() };
    match op {
        Op::GetObject => s3.get_object(get("k")).map(drop),
        Op::HeadObject => s3.head_object(get("k")).map(drop),
        Op::GetMissing => s3.get_object(get("nope")).map(drop),
        Op::List => {
            s3.list_objects_v2(ListObjectsV2Request { bucket: "bkt".into(), ..Default::default() }).map(drop)
        }
        Op::ListVersions => s3
            .list_object_versions(ListObjectVersionsRequest { bucket: "bkt".into(), ..Default::default() })
            .map(drop),
        Op::PutObject => s3
            .put_object(PutObjectRequest {
                bucket: "bkt".into(),
                key: "new".into(),
                body: "x".into(),
                ..Default::default()
            })
            .map(drop),
        Op::PutObjectPublicRead => s3
            .put_object(PutObjectRequest {
                bucket: "bkt".into(),
                key: "new".into(),
                body: "x".into(),
                acl: Some("public-read".into()),
                ..Default::default()
            })
            .map(drop),
        Op::DeleteObject => s3
            .delete_object(DeleteObjectRequest {
                bucket: "bkt".into(),
                key: "k".into(),
                ..Default::default()
            })
            .map(drop),
        Op::DeleteObjectsK => {
            let out = s3.delete_objects(DeleteObjectsRequest {
                bucket: "bkt".into(),
                objects: vec![ObjectIdentifier { key: "k".into(), version_id: None, e_tag: None }],
                quiet: false,
            })?;
            // Refusals are per key, in the errors, as S3 reports them.
            match out.errors.first() {
                Some(e) if e.code == "AccessDenied" => {
                    Err(s3lite::Error::AccessDenied { reason: e.message.clone() })
                }
                Some(e) => panic!("unexpected per-key error {e:?}"),
                None => Ok(()),
            }
        }
        Op::CopyK => s3
            .copy_object(CopyObjectRequest {
                bucket: "bkt".into(),
                key: "copy".into(),
                copy_source: "bkt/k".into(),
                ..Default::default()
            })
            .map(drop),
        Op::GetObjectAcl => s3
            .get_object_acl(GetObjectAclRequest {
                bucket: "bkt".into(),
                key: "k".into(),
                ..Default::default()
            })
            .map(drop),
        Op::PutObjectAclPrivate => s3.put_object_acl(PutObjectAclRequest {
            bucket: "bkt".into(),
            key: "k".into(),
            acl: Some("private".into()),
            ..Default::default()
        }),
        Op::GetBucketAcl => s3.get_bucket_acl("bkt").map(drop),
        Op::PutBucketAclPrivate => s3.put_bucket_acl(PutBucketAclRequest {
            bucket: "bkt".into(),
            acl: Some("private".into()),
            ..Default::default()
        }),
        Op::GetBucketVersioning => s3.get_bucket_versioning("bkt").map(drop),
        Op::HeadBucket => s3.head_bucket("bkt").map(drop),
        Op::CreateMultipart => s3
            .create_multipart_upload(s3lite::s3::multipart::CreateMultipartUploadRequest {
                bucket: "bkt".into(),
                key: "mp".into(),
                ..Default::default()
            })
            .map(drop),
    }
}

fn world(profile: Profile, prepare: fn(&World)) -> World {
    let store = Store::in_memory_builder().profile(profile).open().unwrap();
    let other = store.create_account("other").unwrap();
    store.s3().create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    let w = World { store, other };
    prepare(&w);
    w
}

#[test]
fn every_operation_principal_and_setup_gets_s3s_answer() {
    let mut cases = 0;
    let mut wrong = Vec::new();
    for setup in setups() {
        for (who, allowed) in setup.allowed {
            for op in OPS {
                let expected = match setup.special.iter().find(|(w, o, _)| *w == who && *o == op) {
                    Some((_, _, code)) => Some(*code),
                    None if allowed.contains(&op) && op == Op::GetMissing => Some("NoSuchKey"),
                    None if allowed.contains(&op) => None,
                    None => Some("AccessDenied"),
                };
                let w = world(setup.profile, setup.prepare);
                let got = run(&w.as_(who), op).err().map(|e| e.code());
                cases += 1;
                if got != expected {
                    wrong.push(format!(
                        "{} / {who:?} / {op:?}: expected {expected:?}, got {got:?}",
                        setup.name
                    ));
                }
            }
        }
    }
    assert!(cases >= 700, "{cases} cases");
    assert!(wrong.is_empty(), "{} of {cases} cases wrong:\n{}", wrong.len(), wrong.join("\n"));
}
