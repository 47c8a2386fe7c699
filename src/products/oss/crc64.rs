//! CRC-64/XZ (ECMA-182 polynomial, reflected, init and xor-out all ones): the value OSS sends in
//! `x-oss-hash-crc64ecma` and oss2 checks (reference/oss.md "Objects").

const POLY: u64 = 0xC96C_5795_D787_0F42;

const TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

#[must_use]
pub fn checksum(data: &[u8]) -> u64 {
    let mut crc = !0u64;
    for &b in data {
        // The index is the low byte by construction.
        crc = TABLE[((crc ^ u64::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        // The catalogue check value of CRC-64/XZ.
        assert_eq!(checksum(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(checksum(b""), 0);
    }
}
