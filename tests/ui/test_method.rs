struct Fixture;

impl Fixture {
    #[aioloop::test]
    async fn my_test(&self) {}
}

fn main() {
    let _ = Fixture;
}
