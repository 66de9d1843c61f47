//! The storage engine: everything below the S3 rules. An open [`Store`] owns a directory (or an
//! in-memory [`io::SimStorage`]) and stores buckets, objects and versions in log-structured
//! segments; it knows bucket ids, keys, versions and bodies, not S3's names, errors or headers
//! (those are [`crate::s3`]'s).
//!
//! The data path, top to bottom:
//!
//! - **store** ([`store`]): the engine-level API on (bucket id, key), by concern: [`builder`]
//!   (options and open), [`accounts`], [`buckets`] (the catalog, [`catalog`]), [`objects`] (puts,
//!   gets, deletes, listings; [`options`] has their option and result types), with [`listing`]
//!   (the merge across partitions), [`body`] (readers) and the large-put pipeline
//!   ([`etag_hasher`], [`buffer_pool`], [`writeback`]) beside it. Opening a store is [`recovery`],
//!   with [`orphans`] for files the manifest does not account for.
//! - **partition** ([`partition`]): the router, the ordered index per partition, and the single
//!   group-commit writer per partition that appends records and syncs them; [`context`] is the
//!   state every partition of a store shares.
//! - **segment** ([`segment`]): segment files, read by `pread` while active and through a memory
//!   map once sealed, and the pure recovery scanner.
//! - **format** ([`format`](mod@format)): the pure on-disk encoders and decoders (segment header,
//!   record, meta TLV, manifest frames), no I/O.
//!
//! Below them all, [`io`]: every file operation goes through its `Storage` trait, on `std::fs` or
//! on the simulated file system that crashes and injects faults. Lower layers never import higher
//! ones.
//!
//! Beside the data path, [`open_registry`] remembers which directories this process has open,
//! and [`ids`] makes every random id (reproducibly, for a seeded store).
//!
//! [`Store`]: store::Store

pub(crate) mod accounts;
pub(crate) mod body;
pub(crate) mod buckets;
mod buffer_pool;
pub(crate) mod builder;
pub(crate) mod catalog;
pub(crate) mod checkpoint;
mod context;
pub mod crypto;
mod etag_hasher;
pub mod format;
pub(crate) mod ids;
pub mod io;
pub(crate) mod key_slots;
pub(crate) mod listing;
pub(crate) mod maintenance;
pub(crate) mod multipart;
mod objects;
mod open_registry;
pub(crate) mod options;
mod orphans;
pub(crate) mod partition;
pub(crate) mod recovery;
pub(crate) mod rewrite;
pub(crate) mod rotation;
pub(crate) mod scrub;
mod sealing;
mod sealing_parts;
pub mod segment;
mod split_read;
pub(crate) mod store;
mod writeback;
