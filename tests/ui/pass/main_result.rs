//! `?` and `return` in a `#[aioloop::main]` body see the declared return type.
use std::error::Error;
use std::fmt;

#[derive(Debug)]
struct Oops;

impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}

impl Error for Oops {}

async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    s.parse()
}

/// Doc comments and attributes are kept.
#[aioloop::main(start_paused)]
#[allow(clippy::needless_return)]
async fn main() -> Result<(), Box<dyn Error>> {
    let n = parse("41").await?;
    if n != 41 {
        // Coerces into `Box<dyn Error>` like in any fn returning that type.
        return Err(Box::new(Oops));
    }
    assert_eq!(n + 1, 42);
    Ok(())
}
