#[aioloop::main]
pub struct Server;

fn main() {}
