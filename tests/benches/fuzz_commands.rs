//! Fuzz run (not part of the test suite): 1,000,000 arbitrary inputs through the command
//! parser and the option decoder of every registered command; any panic fails the run.
//!
//! `cargo bench -p chainsignal-tests --bench fuzz_commands` (release), or with
//! `--profile dev` for overflow checks and debug assertions on (as cargo-fuzz does).
//! `FUZZ_INPUTS=N` changes the count, `FUZZ_SEED=<u64>` the seed (printed; a panic is
//! printed with its input, so a failure can be reproduced).

mod fuzz_support;

use std::time::Instant;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used here.
    let inputs: u64 = std::env::var("FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_124);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let started = Instant::now();
    let out = fuzz_support::run(inputs, seed_bytes);
    let elapsed = started.elapsed();
    println!(
        "fuzz: {} inputs, {} panics ({} guarded calls, seed {seed}, {:.1} s, {:.0} inputs/s)",
        out.inputs,
        out.panics,
        out.calls,
        elapsed.as_secs_f64(),
        out.inputs as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    println!(
        "fuzz: {} decoded arguments refused when decoded again from their stored form",
        out.roundtrip_refused
    );
    for (kind, n) in &out.roundtrip_kinds {
        println!("  {n} x {kind}");
    }
    for (case, what, msg) in &out.roundtrip_examples {
        println!("  round trip refused in {what}: {msg}\n    input: {case:?}");
    }
    for (case, what, msg) in &out.panic_examples {
        println!("PANIC in {what}: {msg}\n  input: {case:?}");
    }
    if out.panics > 0 {
        std::process::exit(1);
    }
}
