#[aioloop::main(start_paused, crate = "not a path")]
async fn main() {}
