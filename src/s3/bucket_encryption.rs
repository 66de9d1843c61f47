//! Bucket default encryption: PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption.
//! The configuration is a catalog setting ([`BucketEncryption`]); a put that asks for no
//! encryption takes it, in the engine (so CopyObject and every write path see the same default).
//! The rule's `BlockedEncryptionTypes` (S3, 2026) says whether SSE-C writes are refused; it is
//! checked in `sse_customer.rs` (`S3::sse_customer_allowed`).

use super::S3;
use super::access::BucketAction;
use super::types::ServerSideEncryption;
use crate::engine::catalog::{BucketEncryption, DefaultSse, EncryptionType};
use crate::error::{Error, Result};

/// `ServerSideEncryptionConfiguration`: S3 takes exactly one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSideEncryptionConfiguration {
    /// The rules (exactly one).
    pub rules: Vec<ServerSideEncryptionRule>,
}

/// One `ServerSideEncryptionRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSideEncryptionRule {
    /// The default applied to new objects (`None`: SSE-S3, S3's own default).
    pub apply_server_side_encryption_by_default: Option<ServerSideEncryptionByDefault>,
    /// S3 Bucket Keys: kept and reported (each version has its own data key here either way).
    pub bucket_key_enabled: Option<bool>,
    /// `BlockedEncryptionTypes`: the `EncryptionType`s new writes may not use (`SSE-C`, or `NONE`
    /// to block nothing). `None` on a put: the store's default, which blocks SSE-C in a store that
    /// encrypts by default (as S3 does for buckets since April 2026) and nothing in one that does
    /// not (S3 before 2023). GetBucketEncryption always reports what is in force.
    pub blocked_encryption_types: Option<Vec<EncryptionType>>,
}

impl EncryptionType {
    /// S3's name: `NONE` or `SSE-C`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionType::None => "NONE",
            EncryptionType::SseC => "SSE-C",
        }
    }

    /// Parses S3's name (exactly: S3's enumeration values are case-sensitive).
    ///
    /// # Errors
    /// `InvalidArgument` naming `EncryptionType` and the value.
    pub fn parse(s: &str) -> Result<EncryptionType> {
        match s {
            "NONE" => Ok(EncryptionType::None),
            "SSE-C" => Ok(EncryptionType::SseC),
            other => Err(Error::InvalidArgument {
                name: "EncryptionType",
                value: other.chars().take(64).collect(),
                reason: "the blocked encryption types are SSE-C and NONE".into(),
            }),
        }
    }
}

/// `ApplyServerSideEncryptionByDefault`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSideEncryptionByDefault {
    /// `AES256` or `aws:kms`.
    pub sse_algorithm: ServerSideEncryption,
    /// The master key of `aws:kms` (S3 refuses one with `AES256`).
    pub kms_master_key_id: Option<String>,
}

/// PutBucketEncryption input.
#[derive(Debug, Clone, Default)]
pub struct PutBucketEncryptionRequest {
    /// Bucket.
    pub bucket: String,
    /// The configuration.
    pub server_side_encryption_configuration: ServerSideEncryptionConfiguration,
}

/// GetBucketEncryption output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBucketEncryptionOutput {
    /// The bucket's configuration, or the store's default (SSE-S3) when the bucket has none.
    pub server_side_encryption_configuration: ServerSideEncryptionConfiguration,
}

/// Longest KMS key id or ARN kept (an ARN with an alias is well under it).
const KMS_KEY_ID_BYTES_MAX: usize = 2048;

fn to_setting(c: &ServerSideEncryptionConfiguration) -> Result<BucketEncryption> {
    let [rule] = c.rules.as_slice() else {
        return Err(Error::MalformedXML {
            reason: format!(
                "a ServerSideEncryptionConfiguration has exactly one Rule, this one has {}",
                c.rules.len()
            ),
        });
    };
    let sse = match &rule.apply_server_side_encryption_by_default {
        None => DefaultSse::S3,
        Some(d) => match (d.sse_algorithm, &d.kms_master_key_id) {
            (ServerSideEncryption::Aes256, None) => DefaultSse::S3,
            (ServerSideEncryption::Aes256, Some(key)) => {
                return Err(Error::InvalidArgument {
                    name: "KMSMasterKeyID",
                    value: key.clone(),
                    reason: "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms"
                        .into(),
                });
            }
            (ServerSideEncryption::AwsKms, None) => DefaultSse::Kms { key: None },
            (ServerSideEncryption::AwsKms, Some(key)) => {
                if key.is_empty() || key.len() > KMS_KEY_ID_BYTES_MAX {
                    return Err(Error::InvalidArgument {
                        name: "KMSMasterKeyID",
                        value: key.chars().take(64).collect(),
                        reason: format!("a KMS key id has 1 to {KMS_KEY_ID_BYTES_MAX} bytes"),
                    });
                }
                DefaultSse::Kms { key: Some(key.clone()) }
            }
        },
    };
    let blocked = rule.blocked_encryption_types.clone();
    if let Some(types) = &blocked
        && types.contains(&EncryptionType::None)
        && types.contains(&EncryptionType::SseC)
    {
        return Err(Error::InvalidArgument {
            name: "EncryptionType",
            value: "NONE, SSE-C".into(),
            reason: "NONE blocks nothing and cannot be given with a type to block".into(),
        });
    }
    Ok(BucketEncryption {
        sse,
        bucket_key_enabled: rule.bucket_key_enabled.unwrap_or(false),
        blocked_encryption_types: blocked,
    })
}

/// The configuration as GetBucketEncryption reports it; `default_blocked` is what is blocked when
/// the setting names nothing.
fn to_configuration(
    b: &BucketEncryption,
    default_blocked: Option<Vec<EncryptionType>>,
) -> ServerSideEncryptionConfiguration {
    let (sse_algorithm, kms_master_key_id) = match &b.sse {
        DefaultSse::S3 => (ServerSideEncryption::Aes256, None),
        DefaultSse::Kms { key } => (ServerSideEncryption::AwsKms, key.clone()),
    };
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm,
                kms_master_key_id,
            }),
            bucket_key_enabled: Some(b.bucket_key_enabled),
            blocked_encryption_types: b.blocked_encryption_types.clone().or(default_blocked),
        }],
    }
}

impl S3 {
    /// PutBucketEncryption: the default encryption of new objects in the bucket that ask for none.
    /// A KMS key id is kept as given and checked when a put uses it (`KMS.NotFoundException` then),
    /// as S3 does. The rule's `BlockedEncryptionTypes` replace the bucket's (`NONE` lets SSE-C
    /// writes in); a rule without them puts the store's default block back.
    ///
    /// # Errors
    /// `NoSuchBucket`, `AccessDenied`, `MalformedXML` unless there is exactly one rule,
    /// `InvalidArgument` for a KMS key id with `AES256` or an empty or over-long one, or for
    /// `NONE` given with `SSE-C`.
    pub fn put_bucket_encryption(&self, req: PutBucketEncryptionRequest) -> Result<()> {
        let bucket = self.bucket_for(&req.bucket, BucketAction::Configure("set its default encryption"))?;
        let setting = to_setting(&req.server_side_encryption_configuration)?;
        self.store.set_bucket_encryption(bucket.id, Some(setting))
    }

    /// GetBucketEncryption. A bucket with no configuration of its own reports SSE-S3 when the store
    /// encrypts by default (as S3 has reported for every bucket since 2023-01-05), with SSE-C
    /// blocked unless the bucket's configuration says otherwise (as S3 since April 2026).
    ///
    /// # Errors
    /// `NoSuchBucket`, `AccessDenied`, and `ServerSideEncryptionConfigurationNotFoundError` (404)
    /// when neither the bucket nor the store encrypts new objects.
    pub fn get_bucket_encryption(&self, bucket: &str) -> Result<GetBucketEncryptionOutput> {
        let info = self.bucket_for(bucket, BucketAction::Configure("read its default encryption"))?;
        let setting = match &info.encryption {
            Some(own) => own.clone(),
            None if self.store.encrypts_by_default() => BucketEncryption {
                sse: DefaultSse::S3,
                bucket_key_enabled: false,
                blocked_encryption_types: None,
            },
            None => return Err(Error::NoBucketEncryption { bucket: bucket.into() }),
        };
        let configuration = to_configuration(&setting, self.default_blocked_encryption_types(&info));
        Ok(GetBucketEncryptionOutput { server_side_encryption_configuration: configuration })
    }

    /// DeleteBucketEncryption: the bucket's own configuration goes; new objects get the store's
    /// default again (SSE-S3 in a store that encrypts by default, as S3 since 2023; none otherwise).
    ///
    /// # Errors
    /// `NoSuchBucket`, `AccessDenied`.
    pub fn delete_bucket_encryption(&self, bucket: &str) -> Result<()> {
        let info = self.bucket_for(bucket, BucketAction::Configure("delete its default encryption"))?;
        if info.encryption.is_none() {
            return Ok(());
        }
        self.store.set_bucket_encryption(info.id, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(alg: ServerSideEncryption, key: Option<&str>) -> ServerSideEncryptionConfiguration {
        ServerSideEncryptionConfiguration {
            rules: vec![ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                    sse_algorithm: alg,
                    kms_master_key_id: key.map(str::to_owned),
                }),
                bucket_key_enabled: Some(true),
                blocked_encryption_types: None,
            }],
        }
    }

    #[test]
    fn configurations_round_trip_and_bad_ones_are_refused() {
        for c in [
            rule(ServerSideEncryption::Aes256, None),
            rule(ServerSideEncryption::AwsKms, None),
            rule(ServerSideEncryption::AwsKms, Some("orders")),
        ] {
            assert_eq!(to_configuration(&to_setting(&c).unwrap(), None), c);
        }
        let two = ServerSideEncryptionConfiguration {
            rules: [
                rule(ServerSideEncryption::Aes256, None).rules,
                rule(ServerSideEncryption::Aes256, None).rules,
            ]
            .concat(),
        };
        for bad in [ServerSideEncryptionConfiguration::default(), two] {
            assert_eq!(to_setting(&bad).unwrap_err().code(), "MalformedXML");
        }
        let e = to_setting(&rule(ServerSideEncryption::Aes256, Some("k"))).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { name: "KMSMasterKeyID", .. }), "{e:?}");
        let long = "k".repeat(KMS_KEY_ID_BYTES_MAX + 1);
        for key in ["", long.as_str()] {
            let e = to_setting(&rule(ServerSideEncryption::AwsKms, Some(key))).unwrap_err();
            assert_eq!(e.code(), "InvalidArgument");
        }
        let bare = ServerSideEncryptionConfiguration { rules: vec![ServerSideEncryptionRule::default()] };
        assert_eq!(
            to_setting(&bare).unwrap(),
            BucketEncryption {
                sse: DefaultSse::S3,
                bucket_key_enabled: false,
                blocked_encryption_types: None
            }
        );
    }
}
