//! Compile-fail (and one compile-and-run) cases for `#[aioloop::main]` and `#[aioloop::test]`.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test macros_ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
