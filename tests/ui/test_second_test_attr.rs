#[aioloop::test]
#[test]
async fn my_test() {}

fn main() {}
