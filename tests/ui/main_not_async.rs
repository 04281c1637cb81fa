#[aioloop::main]
fn main() {}
