//! Background writeback of large bodies: one thread per store that fdatasyncs the segments a large
//! put has written chunks to, while the put goes on copying and hashing the next chunks.
//!
//! A chunk is not acknowledged by this sync; the object-commit record's own group sync is what makes
//! the object durable. Starting the data on its way early keeps the disk busy while the writer is
//! busy, so that sync has little left to write. A failed sync poisons the store as any other does
//! (after a failed fdatasync the kernel may have dropped the dirty pages).

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::partition::Partition;

#[derive(Debug, Default)]
struct State {
    /// (partition index, segment id) to sync, in request order, without repeats.
    pending: Vec<(usize, u64)>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// The writeback thread of one store.
#[derive(Debug)]
pub(crate) struct Writeback {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Starts the thread.
    pub(crate) fn start(partitions: Arc<Vec<Arc<Partition>>>) -> std::io::Result<Writeback> {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let handle = std::thread::Builder::new().name("s3lite-writeback".into()).spawn(move || {
            loop {
                let batch = {
                    let mut st = s.state.lock();
                    while st.pending.is_empty() && !st.stop {
                        s.wake.wait(&mut st);
                    }
                    if st.pending.is_empty() {
                        return;
                    }
                    std::mem::take(&mut st.pending)
                };
                for (p, segment_id) in batch {
                    // An error poisons the store; writers see it as PreviousIo.
                    let _ = partitions[p].write_back(segment_id);
                }
            }
        })?;
        Ok(Writeback { shared, handle: Some(handle) })
    }

    /// Asks for a sync of one segment of one partition.
    pub(crate) fn request(&self, partition: usize, segment_id: u64) {
        let mut st = self.shared.state.lock();
        if !st.pending.contains(&(partition, segment_id)) {
            st.pending.push((partition, segment_id));
            self.shared.wake.notify_one();
        }
    }

    /// Finishes pending syncs and stops the thread.
    pub(crate) fn stop(&mut self) {
        self.shared.state.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
