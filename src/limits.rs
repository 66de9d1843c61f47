//! Every limit of the engine as a named constant, checked at the boundary.

/// S3's key length limit, in UTF-8 bytes.
pub const KEY_BYTES_MAX: usize = 1024;
/// Largest metadata section of one record (system + user metadata, chunk list, envelope).
pub const RECORD_META_BYTES_MAX: usize = 64 * 1024;
/// Largest metadata section of an object-commit record: a multipart object lists every chunk of
/// every part (24 bytes each) and one run per part, which 64 KiB cannot hold for 10,000 parts.
pub const COMMIT_META_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Smallest part of a multipart upload other than the last (S3: 5 MiB).
pub const PART_BYTES_MIN: u64 = 5 * 1024 * 1024;
/// Largest part of a multipart upload (S3: 5 GiB).
pub const PART_BYTES_MAX: u64 = 5 * 1024 * 1024 * 1024;
/// Highest part number (S3: 10,000).
pub const PART_NUMBER_MAX: u32 = 10_000;
/// Largest page of ListParts and ListMultipartUploads (S3: 1,000).
pub const LIST_PARTS_MAX: usize = 1000;
/// Largest body of one record: bounds the allocation a decoder may make.
pub const RECORD_BODY_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Largest object one PUT may carry (S3: 5 GiB).
pub const PUT_OBJECT_BYTES_MAX: u64 = 5 * 1024 * 1024 * 1024;
/// Largest manifest edit frame.
pub const MANIFEST_FRAME_BYTES_MAX: usize = 1024 * 1024;
/// Largest number of partitions a store may have.
pub const PARTITIONS_MAX: u32 = 4096;
/// Smallest segment size a store may be created with.
pub const SEGMENT_BYTES_MIN: u64 = 64 * 1024;
/// Largest segment size (offsets in the index are u64, group lengths in markers are u64).
pub const SEGMENT_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;
/// Default segment size before rotation.
pub const SEGMENT_BYTES_DEFAULT: u64 = 256 * 1024 * 1024;
/// Default largest body stored inline in one record.
pub const INLINE_BYTES_DEFAULT: u64 = 256 * 1024;
/// Default chunk size for bodies above the inline limit.
pub const CHUNK_BYTES_DEFAULT: u64 = 8 * 1024 * 1024;
/// Default distance the active segment is zero-filled ahead of its tail.
pub const PREALLOCATE_BYTES_DEFAULT: u64 = 1024 * 1024;
/// Default number of partitions.
pub const PARTITIONS_DEFAULT: u32 = 16;
/// Default upper bound on the bytes one group commit gathers.
pub const GROUP_BYTES_DEFAULT: u64 = 4 * 1024 * 1024;
/// Largest `group_bytes`: a group goes whole into one segment (a fresh one when the active one
/// cannot take it), and an index entry names offsets below 4 GiB, so a group with its one last
/// request and its marker must stay well below [`SEGMENT_BYTES_MAX`].
pub const GROUP_BYTES_MAX: u64 = 1024 * 1024 * 1024;
/// Largest bucket name (S3).
pub const BUCKET_NAME_BYTES_MAX: usize = 63;
/// Largest page a listing call returns.
pub const LIST_KEYS_MAX: usize = 1000;
/// Prefixes whose load each partition tracks (a space-saving top-N: the N busiest are kept, with an
/// error bound; see [`crate::PrefixLoad`]). 16 covers the few hot prefixes an experiment shares a
/// partition between, and a linear scan of 16 slots costs less than the put it counts.
pub const PREFIX_LOAD_SLOTS: usize = 16;
/// Longest prefix a load is attributed to, in bytes (with whole-key hashing, the key up to its first
/// `/`, cut here).
pub const PREFIX_LOAD_BYTES_MAX: usize = 64;
/// Log growth of one partition that makes a background checkpoint due, by default.
pub const CHECKPOINT_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;
/// How often the background checkpoint thread looks, by default.
pub const CHECKPOINT_INTERVAL_MS_DEFAULT: u64 = 10_000;
