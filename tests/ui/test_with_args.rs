#[aioloop::test]
async fn my_test(a: u32, b: &str) {
    let _ = (a, b);
}

fn main() {}
