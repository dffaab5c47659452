//! Arbitrary values through generated data-contract rules: bytes decoded as records whose rules do integer
//! arithmetic (overflow, division by zero), index lists, look keys up, compare timestamps at their range's ends,
//! match patterns on any text, count code points and quantify over lists and maps. Evaluating them returns
//! violations or nothing: never a panic; every violation's path and message print. The same rules read from the
//! schema and interpreted (as a registered schema's are) break on the same rules and paths.
#![no_main]

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

use typed_kafka_avro::registered_rules::RegisteredRules;
use typed_kafka_avro::{AvroType, KafkaRecord, RuleViolation};
use typed_kafka_derive::KafkaRecord;

#[derive(KafkaRecord, Debug)]
#[kafka(crate = "typed_kafka_avro", namespace = "fuzz")]
#[kafka(rule(name = "arith", expr = "this.a * this.b + this.a / this.b - this.a % this.b > -this.a"))]
#[kafka(rule(name = "conv", expr = "int(this.d) > 0 || uint(this.b) > 1u || double(this.a) > this.d"))]
#[kafka(rule(name = "text", expr = "string(this.a) + string(this.d) != '' && int(this.s) > 0"))]
#[kafka(rule(name = "lists", expr = "this.nums[this.a] > 0 && this.nums.exists_one(n, 10 / n > 1)"))]
#[kafka(rule(name = "maps", expr = "this.m[this.s] > 0 || this.m.all(k, this.m[k] / this.a > 0)"))]
#[kafka(rule(name = "times", expr = "this.at - this.at < duration('1s') && this.at + duration('87600h') > this.at"))]
struct Numbers {
    a: i64,
    b: i64,
    d: f64,
    #[kafka(pattern = "^(a+)+$", len(min = 1, max = 8), rule(name = "cp", expr = "this.matches(this)"))]
    s: String,
    #[kafka(rule(name = "all", expr = "this.all(n, n - 1 < n)"))]
    nums: Vec<i64>,
    m: HashMap<String, i64>,
    #[kafka(rule(name = "ts", expr = "this.getDayOfWeek() >= 0 && this.getHours('-23:59') < 24 && this < now"))]
    at: DateTime<Utc>,
    #[kafka(rule(name = "opt", expr = "this.size() > 0 ? this : 'empty'"))]
    note: Option<String>,
}

fn interpreted() -> &'static RegisteredRules {
    static RULES: OnceLock<RegisteredRules> = OnceLock::new();
    RULES.get_or_init(|| {
        let info = Numbers::schema().expect("the schema builds");
        let rules = RegisteredRules::compile(info.schema(), info.json(), None).expect("the rules check");
        rules.expect("the schema carries rules")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = Numbers::decode_body(data) {
        let mut out = Vec::new();
        v.rule_violations(&mut out);
        let mut body = Vec::new();
        v.encode_body(&mut body).expect("a decoded value encodes");
        let mut read = Vec::new();
        interpreted().violations(&body, &mut read).expect("its body reads");
        let show = |f: &RuleViolation| (f.rule, f.path.to_string(), f.message.is_some());
        let (derived, read): (Vec<_>, Vec<_>) = (out.iter().map(show).collect(), read.iter().map(show).collect());
        assert_eq!(derived, read, "derived and interpreted rules differ");
        for violation in out {
            let _ = violation.to_string();
        }
    }
});
