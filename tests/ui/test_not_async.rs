#[aioloop::test]
fn my_test() {}

fn main() {}
