use super::*;

const INT: SchemaShape = SchemaShape::Primitive("int");
const STRING: SchemaShape = SchemaShape::Primitive("string");

static ORDER_NAME: ShapeName = ShapeName::plain("Order", Some("shop"), &[]);
static ORDER: SchemaShape = SchemaShape::Record(
    &ORDER_NAME,
    &[
        ShapeField { name: "id", ty: &STRING, default: None, aliases: &[], order: None },
        ShapeField { name: "total", ty: &INT, default: Some("0"), aliases: &[], order: None },
    ],
);

fn expected(fields: &'static [ShapeField]) -> SchemaShape {
    static NAME: ShapeName = ShapeName::Full { name: "shop.Order", aliases: &[] };
    SchemaShape::Record(&NAME, fields)
}

fn mismatch(actual: &SchemaShape, expected: &SchemaShape) -> (String, String) {
    let m = compare(actual, expected).unwrap_err();
    (m.path.as_str().to_string(), m.what.as_str().to_string())
}

#[test]
fn equal_shapes_agree() {
    let e = expected(&[
        ShapeField { name: "id", ty: &STRING, default: None, aliases: &[], order: None },
        ShapeField { name: "total", ty: &INT, default: Some("0"), aliases: &[], order: None },
    ]);
    assert!(compare(&ORDER, &e).is_ok());
}

#[test]
fn each_difference_is_named_by_its_path() {
    let dropped = expected(&[ShapeField { name: "id", ty: &STRING, default: None, aliases: &[], order: None }]);
    assert_eq!(mismatch(&ORDER, &dropped), ("/fields/total".into(), "the type adds this field".into()));

    let retyped = expected(&[
        ShapeField { name: "id", ty: &STRING, default: None, aliases: &[], order: None },
        ShapeField {
            name: "total",
            ty: &SchemaShape::Primitive("long"),
            default: Some("0"),
            aliases: &[],
            order: None,
        },
    ]);
    assert_eq!(
        mismatch(&ORDER, &retyped),
        ("/fields/total/type".into(), "the type has int where the contract has long".into())
    );

    let default = expected(&[
        ShapeField { name: "id", ty: &STRING, default: None, aliases: &[], order: None },
        ShapeField { name: "total", ty: &INT, default: Some("1"), aliases: &[], order: None },
    ]);
    assert_eq!(mismatch(&ORDER, &default).0, "/fields/total/default");

    static OTHER: ShapeName = ShapeName::Full { name: "Order", aliases: &[] };
    let renamed = SchemaShape::Record(&OTHER, &[]);
    assert_eq!(
        mismatch(&ORDER, &renamed),
        ("/name".into(), "the type has shop.Order where the contract has Order".into())
    );
    assert_eq!(mismatch(&ORDER, &SchemaShape::Unsupported("connect.name")).0, "");
}

#[test]
fn namespaces_are_inherited_and_generic_names_instantiated() {
    // Wrapper<Option<i32>> in namespace "n" holding a Line (no namespace of its own: inherits "n").
    static LINE_NAME: ShapeName = ShapeName::plain("Line", None, &[]);
    static LINE: SchemaShape = SchemaShape::Record(&LINE_NAME, &[]);
    static OPT: SchemaShape = SchemaShape::Union(&[&SchemaShape::Primitive("null"), &INT]);
    static WRAPPER_NAME: ShapeName = ShapeName::Derived {
        base: "Wrapper",
        args: &[&OPT],
        number: None,
        suffix: "",
        namespace: Some("n"),
        aliases: &[],
    };
    static WRAPPER: SchemaShape = SchemaShape::Record(
        &WRAPPER_NAME,
        &[ShapeField { name: "line", ty: &LINE, default: None, aliases: &[], order: None }],
    );
    static E_LINE_NAME: ShapeName = ShapeName::Full { name: "n.Line", aliases: &[] };
    static E_LINE: SchemaShape = SchemaShape::Record(&E_LINE_NAME, &[]);
    static E_NAME: ShapeName = ShapeName::Full { name: "n.Wrapper_optional_int", aliases: &[] };
    static E: SchemaShape = SchemaShape::Record(
        &E_NAME,
        &[ShapeField { name: "line", ty: &E_LINE, default: None, aliases: &[], order: None }],
    );
    assert!(compare(&WRAPPER, &E).is_ok());
    // A later use of Line is a reference by full name in the file.
    static E_REF: SchemaShape = SchemaShape::Record(
        &E_NAME,
        &[ShapeField { name: "line", ty: &SchemaShape::Ref("n.Line"), default: None, aliases: &[], order: None }],
    );
    assert!(compare(&WRAPPER, &E_REF).is_ok());
    static E_WRONG_REF: SchemaShape = SchemaShape::Record(
        &E_NAME,
        &[ShapeField { name: "line", ty: &SchemaShape::Ref("Line"), default: None, aliases: &[], order: None }],
    );
    assert_eq!(mismatch(&WRAPPER, &E_WRONG_REF).0, "/fields/line/type");
}

#[test]
fn recursion_refers_to_the_enclosing_type() {
    static NODE_NAME: ShapeName = ShapeName::plain("Node", None, &[]);
    static NEXT: SchemaShape = SchemaShape::Union(&[&SchemaShape::Primitive("null"), &SchemaShape::Recursive]);
    static NODE: SchemaShape = SchemaShape::Record(
        &NODE_NAME,
        &[ShapeField { name: "next", ty: &NEXT, default: Some("null"), aliases: &[], order: None }],
    );
    static E_NAME: ShapeName = ShapeName::Full { name: "Node", aliases: &[] };
    static E_NEXT: SchemaShape = SchemaShape::Union(&[&SchemaShape::Primitive("null"), &SchemaShape::Ref("Node")]);
    static E: SchemaShape = SchemaShape::Record(
        &E_NAME,
        &[ShapeField { name: "next", ty: &E_NEXT, default: Some("null"), aliases: &[], order: None }],
    );
    assert!(compare(&NODE, &E).is_ok());
    assert_eq!(
        to_json(&NODE).unwrap().to_string(),
        r#"{"fields":[{"default":null,"name":"next","type":["null","Node"]}],"name":"Node","type":"record"}"#
    );
}

#[test]
fn opaque_parts_pass_and_the_message_names_file_path_and_fix() {
    assert!(compare(&SchemaShape::Opaque, &INT).is_ok());
    assert!(to_json(&SchemaShape::Opaque).is_none());
    let m = compare(&INT, &STRING).unwrap_err();
    let msg = drift_message("Order", "schemas/orders-value/v1.avsc", &m);
    assert!(
        msg.as_str().starts_with(
            "`Order` no longer matches its contract schemas/orders-value/v1.avsc at the root: the type has int where \
         the contract has string. Run `cargo contracts bless`"
        ),
        "{msg:?}"
    );
}

#[test]
fn text_that_does_not_fit_is_cut_with_a_mark() {
    let long = "x".repeat(1000);
    let t = ConstText::new().push("a").push(&long).push("b");
    assert_eq!(t.as_str(), "a…");
    assert_eq!(ConstText::new().push_u64(0).push_u64(18_446_744_073_709_551_615).as_str(), "018446744073709551615");
}
