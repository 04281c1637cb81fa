#[aioloop::main]
async fn main<T: Default>() -> Result<(), T> {
    Err(T::default())
}
