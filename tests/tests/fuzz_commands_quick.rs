//! A few hundred arbitrary inputs through the command parser and the option decoder,
//! in the test suite; the 1M-input run is `cargo bench -p chainsignal-tests --bench
//! fuzz_commands`.

#[path = "../benches/fuzz_support/mod.rs"]
mod fuzz_support;

#[test]
fn arbitrary_input_never_panics_the_parser_or_the_decoder() {
    let out = fuzz_support::run(400, *b"chainsignal-fuzz-quick-run-seed!");
    assert_eq!(out.inputs, 400);
    assert!(
        out.panic_examples.is_empty() && out.panics == 0,
        "{} panics: {:#?}",
        out.panics,
        out.panic_examples
    );
}
