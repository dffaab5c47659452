//! The nesting limit is configurable (a process-wide setting, so this test has its own binary).

use typed_kafka::avro::codec::encoding;
use typed_kafka::{DecodeError, KafkaRecord};

#[derive(KafkaRecord, Debug, PartialEq)]
struct Tree {
    children: Vec<Tree>,
}

/// A chain of `depth` trees, each the only child of the one above.
fn chain(depth: usize) -> Vec<u8> {
    let mut bytes = vec![0x02; depth - 1]; // each level: a block of one child
    bytes.push(0x00); // the innermost tree has no children
    bytes.extend(std::iter::repeat_n(0x00, depth - 1)); // each block's end
    bytes
}

#[test]
fn the_depth_limit_can_be_lowered_and_raised() {
    assert!(Tree::decode_body(&chain(128)).is_ok());
    assert!(matches!(Tree::decode_body(&chain(129)).unwrap_err().root_cause(), DecodeError::TooDeep { limit: 128 }));
    encoding::set_max_depth(10);
    assert!(Tree::decode_body(&chain(10)).is_ok());
    assert!(matches!(Tree::decode_body(&chain(11)).unwrap_err().root_cause(), DecodeError::TooDeep { limit: 10 }));
    encoding::set_max_depth(1000);
    assert!(
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(|| Tree::decode_body(&chain(1000)).is_ok())
            .unwrap()
            .join()
            .unwrap()
    );
    encoding::set_max_depth(encoding::DEFAULT_MAX_DEPTH);
}
