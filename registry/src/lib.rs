//! Schema model, codec runtime, registry client and wire format for typed-kafka.
