#[aioloop::test(start_paused = "yes")]
async fn my_test() {}

fn main() {}
