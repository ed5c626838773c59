//! Kafka-compatible key partitioning, so a key (a coin) lands in the same partition on the
//! embedded backend and on Kafka.

/// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed `0x9747b28c`, as a signed Java int.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a keyed record:
/// `toPositive(murmur2(key)) % partitions`. Returns 0 when `partitions` is 0.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    if partitions == 0 {
        return 0;
    }
    ((murmur2(key) as u32) & 0x7fff_ffff) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors (`clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java`,
    /// `testMurmur2`).
    #[test]
    fn murmur2_matches_kafka_vectors() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(
                murmur2(key),
                *want,
                "key {:?}",
                String::from_utf8_lossy(key)
            );
        }
    }

    /// Independent transcription of the Java reference (signed ints, fall-through switch) to
    /// cross-check random keys of every tail length.
    fn java_reference(data: &[u8]) -> i32 {
        let length = data.len() as i32;
        let m: i32 = 0x5bd1e995;
        let mut h: i32 = (0x9747b28c_u32 as i32) ^ length;
        let length4 = length / 4;
        for i in 0..length4 {
            let i4 = (i * 4) as usize;
            let mut k: i32 = (data[i4] as i32 & 0xff)
                .wrapping_add((data[i4 + 1] as i32 & 0xff) << 8)
                .wrapping_add((data[i4 + 2] as i32 & 0xff) << 16)
                .wrapping_add((data[i4 + 3] as i32 & 0xff) << 24);
            k = k.wrapping_mul(m);
            k ^= ((k as u32) >> 24) as i32;
            k = k.wrapping_mul(m);
            h = h.wrapping_mul(m);
            h ^= k;
        }
        let base = (length & !3) as usize;
        let rem = length % 4;
        if rem == 3 {
            h ^= (data[base + 2] as i32 & 0xff) << 16;
        }
        if rem >= 2 {
            h ^= (data[base + 1] as i32 & 0xff) << 8;
        }
        if rem >= 1 {
            h ^= data[base] as i32 & 0xff;
            h = h.wrapping_mul(m);
        }
        h ^= ((h as u32) >> 13) as i32;
        h = h.wrapping_mul(m);
        h ^= ((h as u32) >> 15) as i32;
        h
    }

    #[test]
    fn murmur2_matches_reference_on_many_keys() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        for len in 0..64usize {
            let key: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            assert_eq!(murmur2(&key), java_reference(&key), "len {len}");
        }
    }

    #[test]
    fn partition_is_positive_modulo() {
        // toPositive(-973932308) = 1173551340; % 3 = 0, % 10 = 0, % 7 = 1173551340 % 7.
        assert_eq!(partition_for_key(b"21", 3), 1_173_551_340 % 3);
        assert_eq!(partition_for_key(b"21", 7), 1_173_551_340 % 7);
        assert_eq!(partition_for_key(b"abc", 5), 479_470_107 % 5);
        assert_eq!(partition_for_key(b"anything", 1), 0);
        assert_eq!(partition_for_key(b"anything", 0), 0);
        for p in 1..50 {
            assert!(partition_for_key(b"BTC", p) < p);
        }
    }
}
