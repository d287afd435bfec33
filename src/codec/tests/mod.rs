use super::*;
use rand::{Rng, SeedableRng};

mod vectors;

struct Shapes(Vec<(u32, Shape)>);

impl TypeLookup for Shapes {
    fn shape(&self, oid: u32) -> Option<Shape> {
        self.0
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, s)| s.clone())
    }
}

fn none() -> Shapes {
    Shapes(Vec::new())
}

fn to_binary(oid: u32, text: &[u8], types: &dyn TypeLookup, opts: TextOptions) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    text_to_binary(oid, text, types, opts, &mut out).map(|()| out)
}

fn to_text(oid: u32, bytes: &[u8], types: &dyn TypeLookup) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    binary_to_text(oid, bytes, types, &mut out).map(|()| out)
}

/// PostgreSQL's own text reads as PostgreSQL's own binary, and our text for that binary reads back as
/// the same binary.
#[test]
fn postgres_vectors_convert_both_ways() {
    for (oid, text, binary) in vectors::VECTORS {
        let show = String::from_utf8_lossy(text);
        let got = to_binary(*oid, text, &none(), TextOptions::default())
            .unwrap_or_else(|e| panic!("oid {oid} {show:?}: {e}"));
        assert_eq!(&got, binary, "oid {oid} {show:?}");
        let ours =
            to_text(*oid, binary, &none()).unwrap_or_else(|e| panic!("oid {oid} {show:?}: {e}"));
        let back = to_binary(*oid, &ours, &none(), TextOptions::default()).unwrap_or_else(|e| {
            panic!(
                "oid {oid} {show:?} -> {:?}: {e}",
                String::from_utf8_lossy(&ours)
            )
        });
        assert_eq!(
            &back,
            binary,
            "oid {oid} {show:?} via {:?}",
            String::from_utf8_lossy(&ours)
        );
    }
}

#[test]
fn text_that_would_misread_is_converted_not_passed() {
    // text 'f' as binary would be a true bool; '1' an invalid int4
    assert_eq!(
        to_binary(oid::BOOL, b"f", &none(), TextOptions::default()).unwrap(),
        [0]
    );
    assert_eq!(
        to_binary(oid::INT4, b"1", &none(), TextOptions::default()).unwrap(),
        [0, 0, 0, 1]
    );
    assert!(matches!(
        to_binary(oid::INT4, b"12x", &none(), TextOptions::default()),
        Err(CodecError::Malformed { .. })
    ));
    assert_eq!(
        to_binary(600, b"(1,2)", &none(), TextOptions::default()),
        Err(CodecError::UnknownType { oid: 600 })
    );
}

/// Query Service writes NULL record fields as the word NULL; PostgreSQL as nothing.
#[test]
fn records_read_both_null_styles_and_nest() {
    const INNER: u32 = 70_001;
    const OUTER: u32 = 70_002;
    const OUTER_ARRAY: u32 = 70_003;
    let shapes = Shapes(vec![
        (
            INNER,
            Shape::Composite {
                fields: vec![oid::TEXT, oid::NUMERIC],
            },
        ),
        (
            OUTER,
            Shape::Composite {
                fields: vec![oid::INT4, INNER, 1009],
            },
        ),
        (OUTER_ARRAY, Shape::Array { element: OUTER }),
    ]);
    let qs = TextOptions {
        literal_null_in_records: true,
    };
    let pg = TextOptions::default();
    let a = to_binary(OUTER, br#"(NULL,"(USD,NULL)","{a,NULL}")"#, &shapes, qs).unwrap();
    let b = to_binary(OUTER, br#"(,"(USD,)","{a,NULL}")"#, &shapes, pg).unwrap();
    assert_eq!(a, b);
    // the same field written by PostgreSQL with a literal NULL string
    let c = to_binary(INNER, b"(NULL,1.5)", &shapes, pg).unwrap();
    let d = to_binary(INNER, br#"("NULL",1.5)"#, &shapes, qs).unwrap();
    assert_eq!(c, d, "a quoted NULL is always the string");
    let e = to_binary(INNER, b"(NULL,1.5)", &shapes, qs).unwrap();
    assert_ne!(c, e);
    // arrays of records, quotes and backslashes inside
    let text = br#"{"(1,\"(\"\"x,y\"\",2)\",{})",NULL,"(NULL,NULL,NULL)"}"#;
    let bin = to_binary(OUTER_ARRAY, text, &shapes, qs).unwrap();
    let ours = to_text(OUTER_ARRAY, &bin, &shapes).unwrap();
    assert_eq!(to_binary(OUTER_ARRAY, &ours, &shapes, pg).unwrap(), bin);
    assert!(matches!(
        to_binary(INNER, b"(a,1,2)", &shapes, pg),
        Err(CodecError::Malformed { .. })
    ));
}

fn random_value(rng: &mut impl Rng, oid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    match oid {
        oid::BOOL => out.push(rng.gen_range(0..2)),
        oid::INT2 => out.extend_from_slice(&rng.r#gen::<i16>().to_be_bytes()),
        oid::INT4 => out.extend_from_slice(&rng.r#gen::<i32>().to_be_bytes()),
        oid::INT8 => out.extend_from_slice(&rng.r#gen::<i64>().to_be_bytes()),
        oid::FLOAT4 => out.extend_from_slice(&f32::from_bits(rng.r#gen()).to_be_bytes()),
        oid::FLOAT8 => out.extend_from_slice(&f64::from_bits(rng.r#gen()).to_be_bytes()),
        oid::DATE => out.extend_from_slice(&rng.gen_range(-2_451_545..2_000_000i32).to_be_bytes()),
        oid::TIMESTAMP | oid::TIMESTAMPTZ => out.extend_from_slice(
            &rng.gen_range(-211_813_488_000_000_000..9_000_000_000_000_000_000i64)
                .to_be_bytes(),
        ),
        oid::TIME => out.extend_from_slice(&rng.gen_range(0..86_400_000_000i64).to_be_bytes()),
        oid::INTERVAL => {
            out.extend_from_slice(&rng.gen_range(-1i64 << 40..1 << 40).to_be_bytes());
            out.extend_from_slice(&rng.gen_range(-100_000..100_000i32).to_be_bytes());
            out.extend_from_slice(&rng.gen_range(-100_000..100_000i32).to_be_bytes());
        }
        oid::NUMERIC => {
            // through text: a random decimal
            let digits: u64 = rng.r#gen();
            let scale = rng.gen_range(0..20);
            let s = digits.to_string();
            let text = if scale > 0 && scale < s.len() {
                format!(
                    "{}{}.{}",
                    if rng.r#gen() { "-" } else { "" },
                    &s[..s.len() - scale],
                    &s[s.len() - scale..]
                )
            } else {
                s
            };
            text_to_binary(
                oid,
                text.as_bytes(),
                &none(),
                TextOptions::default(),
                &mut out,
            )
            .unwrap();
        }
        oid::BYTEA => out.extend((0..rng.gen_range(0..20)).map(|_| rng.r#gen::<u8>())),
        oid::UUID => out.extend((0..16).map(|_| rng.r#gen::<u8>())),
        _ => unreachable!(),
    }
    out
}

/// Random binary values: our text reads back as the same binary, and arrays of them too.
#[test]
fn random_values_round_trip_through_text() {
    let seed: u64 = std::env::var("AEP_DIESEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let oids = [
        oid::BOOL,
        oid::INT2,
        oid::INT4,
        oid::INT8,
        oid::FLOAT4,
        oid::FLOAT8,
        oid::DATE,
        oid::TIMESTAMP,
        oid::TIMESTAMPTZ,
        oid::TIME,
        oid::INTERVAL,
        oid::NUMERIC,
        oid::BYTEA,
        oid::UUID,
    ];
    for _ in 0..20_000 {
        let o = oids[rng.gen_range(0..oids.len())];
        let bin = random_value(&mut rng, o);
        let text = to_text(o, &bin, &none()).unwrap();
        let back = to_binary(o, &text, &none(), TextOptions::default()).unwrap_or_else(|e| {
            panic!(
                "oid {o} {:?}: {e} (AEP_DIESEL_SEED={seed})",
                String::from_utf8_lossy(&text)
            )
        });
        let same = if matches!(o, oid::FLOAT4 | oid::FLOAT8) {
            // every NaN is the same NaN to PostgreSQL
            let nan = |b: &[u8]| {
                if o == oid::FLOAT4 {
                    f32::from_be_bytes(b.try_into().unwrap()).is_nan()
                } else {
                    f64::from_be_bytes(b.try_into().unwrap()).is_nan()
                }
            };
            back == bin || (nan(&back) && nan(&bin))
        } else {
            back == bin
        };
        assert!(
            same,
            "oid {o} {:?} (AEP_DIESEL_SEED={seed})",
            String::from_utf8_lossy(&text)
        );
    }
}

/// Garbage in never panics, whatever the type.
#[test]
fn garbage_never_panics() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let shapes = Shapes(vec![
        (
            70_001,
            Shape::Composite {
                fields: vec![oid::TEXT, 70_002],
            },
        ),
        (70_002, Shape::Array { element: oid::INT4 }),
        (70_003, Shape::Range { subtype: oid::DATE }),
    ]);
    let mut oids: Vec<u32> = vectors::VECTORS.iter().map(|v| v.0).collect();
    oids.extend([70_001, 70_002, 70_003, oid::RECORD, 1187, 1270, 3905]);
    let alphabet = b"{}(),\"\\ NULL0123456789-+.:eE[]=tfxabc\x00\xff";
    for _ in 0..30_000 {
        let o = oids[rng.gen_range(0..oids.len())];
        let n = rng.gen_range(0..24);
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                if rng.gen_bool(0.5) {
                    alphabet[rng.gen_range(0..alphabet.len())]
                } else {
                    rng.r#gen()
                }
            })
            .collect();
        let _ = to_binary(
            o,
            &bytes,
            &shapes,
            TextOptions {
                literal_null_in_records: rng.r#gen(),
            },
        );
        let _ = to_text(o, &bytes, &shapes);
    }
}
