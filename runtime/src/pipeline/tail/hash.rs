//! Hashing trace ids for the export thread's maps: a folded multiply with a
//! key drawn once per process. Trace ids are mostly random already, but an
//! incoming `traceparent` chooses its own, so the key keeps crafted ids
//! from piling into one bucket.

use std::hash::{BuildHasher, Hasher, RandomState};

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Clone, Copy, Debug)]
pub(super) struct TraceIdHash {
    key: u64,
}

impl Default for TraceIdHash {
    fn default() -> Self {
        TraceIdHash {
            key: RandomState::new().hash_one(MULTIPLIER),
        }
    }
}

impl BuildHasher for TraceIdHash {
    type Hasher = TraceIdHasher;

    fn build_hasher(&self) -> TraceIdHasher {
        TraceIdHasher {
            key: self.key,
            hash: 0,
        }
    }
}

#[derive(Debug)]
pub(super) struct TraceIdHasher {
    key: u64,
    hash: u64,
}

impl TraceIdHasher {
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.hash ^ word ^ self.key) * u128::from(MULTIPLIER);
        self.hash = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for TraceIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    /// What a `TraceId` hashes through.
    fn write_u128(&mut self, n: u128) {
        self.mix(n as u64);
        self.mix((n >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use opentelemetry::trace::TraceId;

    use super::*;

    #[test]
    fn ids_that_differ_in_one_half_spread_over_the_buckets() {
        let hash = TraceIdHash::default();
        let low: HashSet<u64> = (0..4096_u128)
            .map(|n| hash.hash_one(TraceId::from(n)) & 0xfff)
            .collect();
        let high: HashSet<u64> = (0..4096_u128)
            .map(|n| hash.hash_one(TraceId::from(n << 64)) & 0xfff)
            .collect();
        // 4 096 ids into 4 096 buckets fill about 63 % of them at random.
        assert!(low.len() > 2300, "{}", low.len());
        assert!(high.len() > 2300, "{}", high.len());
    }
}
