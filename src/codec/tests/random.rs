//! Random round trips (binary -> text -> binary gives the same bytes) and random garbage (never
//! a panic). The seed is printed on failure; set CODEC_SEED to replay it.

use super::{TextOptions, TypeLookup, binary_to_text, text_to_binary};
use super::{custom_types, hex, values};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The seed: CODEC_SEED if set, else random.
fn seed() -> u64 {
    std::env::var("CODEC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// How many values per type: CODEC_ITERATIONS if set, else `default`.
fn iterations(default: usize) -> usize {
    std::env::var("CODEC_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Every type the tests know: built-in scalars, arrays and ranges, and the custom types.
fn all_types(types: &super::Types) -> Vec<u32> {
    let mut v: Vec<u32> = values::SCALARS.to_vec();
    v.extend(values::ARRAYS.iter().map(|a| a.0));
    v.extend(values::RANGES.iter().map(|a| a.0));
    let mut custom: Vec<u32> = types
        .0
        .iter()
        .filter(|(_, s)| !matches!(s, super::Shape::Array { element } if types.shape(*element).is_none() && !values::SCALARS.contains(element)))
        .map(|(&o, _)| o)
        .collect();
    custom.sort_unstable();
    v.extend(custom);
    v
}

#[test]
fn random_round_trips() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let types = custom_types();
    let opts = TextOptions::default();
    let qs = TextOptions {
        literal_null_in_records: true,
    };
    for t in all_types(&types) {
        for _ in 0..iterations(300) {
            let v = values::value(&mut rng, t, &types, 0);
            let mut text = Vec::new();
            if let Err(e) = binary_to_text(t, &v, &types, &mut text) {
                panic!(
                    "seed {seed}: type {t}: binary_to_text({}) failed: {e}",
                    hex(&v)
                );
            }
            for o in [opts, qs] {
                let mut back = Vec::new();
                let r = text_to_binary(t, &text, &types, o, &mut back);
                assert!(
                    r.is_ok() && back == v,
                    "seed {seed}: type {t}: {} -> {:?} -> {:?} {:?}",
                    hex(&v),
                    String::from_utf8_lossy(&text),
                    r,
                    hex(&back)
                );
            }
        }
    }
}

/// Garbage text: random bytes, or a valid text with random edits.
fn garbage_text(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"{",
        b"}",
        b"(",
        b")",
        b"[",
        b"]",
        b",",
        b"\"",
        b"\\",
        b" ",
        b"NULL",
        b"-",
        b"+",
        b".",
        b":",
        b"e",
        b"E",
        b"9",
        b"0",
        b"=",
        b"P",
        b"T",
        b"BC",
        b"infinity",
        b"\xff",
        b"\x00",
        b"99999999999999999999",
        b"1e1000",
        b"/",
        b"@",
        b"ago",
    ];
    let mut v = if rng.gen_bool(0.3) || valid.is_empty() {
        (0..rng.gen_range(0..24)).map(|_| rng.r#gen()).collect()
    } else {
        valid.to_vec()
    };
    for _ in 0..rng.gen_range(1..4) {
        let at = rng.gen_range(0..=v.len());
        match rng.gen_range(0..3) {
            0 => {
                let p = PIECES[rng.gen_range(0..PIECES.len())];
                v.splice(at..at, p.iter().copied());
            }
            1 if at < v.len() => {
                v.remove(at);
            }
            _ => v.truncate(at),
        }
    }
    v
}

/// Garbage binary: random bytes, or a valid value with random edits.
fn garbage_binary(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    let mut v = if rng.gen_bool(0.3) {
        (0..rng.gen_range(0..40)).map(|_| rng.r#gen()).collect()
    } else {
        valid.to_vec()
    };
    for _ in 0..rng.gen_range(1..4) {
        if v.is_empty() {
            break;
        }
        let at = rng.gen_range(0..v.len());
        match rng.gen_range(0..4) {
            0 => v[at] = rng.r#gen(),
            1 => {
                v[at] = *[0x00, 0x7f, 0x80, 0xff]
                    .get(rng.gen_range(0..4))
                    .unwrap_or(&0)
            }
            2 => v.truncate(at),
            _ => v.push(rng.r#gen()),
        }
    }
    v
}

#[test]
fn random_garbage_never_panics() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let types = custom_types();
    let marker = b"marker".to_vec();
    for t in all_types(&types)
        .into_iter()
        .chain([2249, 2287, 603, 0, u32::MAX])
    {
        for i in 0..iterations(400) {
            let valid = if values::SCALARS.contains(&t)
                || types.shape(t).is_some()
                || values::ARRAYS.iter().any(|a| a.0 == t)
                || values::RANGES.iter().any(|a| a.0 == t)
            {
                values::value(&mut rng, t, &types, 0)
            } else {
                Vec::new()
            };
            let mut valid_text = Vec::new();
            let _ = binary_to_text(t, &valid, &types, &mut valid_text);
            let text = garbage_text(&mut rng, &valid_text);
            let bin = garbage_binary(&mut rng, &valid);
            let opts = TextOptions {
                literal_null_in_records: i % 2 == 0,
            };
            let mut out = marker.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let a = text_to_binary(t, &text, &types, opts, &mut out);
                if a.is_err() {
                    assert_eq!(out, marker, "out changed on error");
                }
                out.truncate(marker.len());
                let b = binary_to_text(t, &bin, &types, &mut out);
                if b.is_err() {
                    assert_eq!(out, marker, "out changed on error");
                }
            }));
            assert!(
                r.is_ok(),
                "seed {seed}: type {t}: panic on text {:?} / binary {}",
                String::from_utf8_lossy(&text),
                hex(&bin)
            );
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let types = custom_types();
    let mut out = Vec::new();
    let deep = "{".repeat(100_000);
    assert!(
        text_to_binary(
            super::oid::INT4_ARRAY,
            deep.as_bytes(),
            &types,
            TextOptions::default(),
            &mut out
        )
        .is_err()
    );
    let deep = "(".repeat(100_000);
    assert!(
        text_to_binary(
            super::custom("wrap"),
            deep.as_bytes(),
            &types,
            TextOptions::default(),
            &mut out
        )
        .is_err()
    );
    // an anonymous record whose field is an anonymous record whose field is ... in binary
    let mut v = Vec::new();
    for _ in 0..10_000 {
        v.extend_from_slice(&1i32.to_be_bytes());
        v.extend_from_slice(&2249u32.to_be_bytes());
        v.extend_from_slice(&(-2i32).to_be_bytes());
    }
    let mut nested = 0i32.to_be_bytes().to_vec();
    for _ in 0..200 {
        let mut outer = 1i32.to_be_bytes().to_vec();
        outer.extend_from_slice(&2249u32.to_be_bytes());
        outer.extend_from_slice(&(nested.len() as i32).to_be_bytes());
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    assert!(binary_to_text(2249, &nested, &types, &mut out).is_err());
    assert!(binary_to_text(2249, &v, &types, &mut out).is_err());
}
