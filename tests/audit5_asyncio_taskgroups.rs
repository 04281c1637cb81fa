//! Fifth audit against CPython's Lib/test/test_asyncio/test_taskgroups.py (3.13/3.14): the
//! cases the earlier ports (audit_asyncio_taskgroups.rs, audit2_asyncio_taskgroups.rs,
//! combinators_task_group.rs, task_model_task_group.rs) do not cover. Each test is named after
//! the CPython test.

use aioloop::{copy_context, yield_now, ContextVar, TaskGroup};

static CVAR: ContextVar<i32> = ContextVar::new("cvar");

/// test_taskgroups.py `test_taskgroup_task_context`: `tg.create_task(coro, context=ctx)` runs
/// the child in `ctx` itself, so what the child sets is seen in `ctx` afterwards. aioloop's
/// form: the child's future is `ctx.scope(fut)`.
#[aioloop::test]
async fn test_taskgroup_task_context() {
    async fn coro(val: i32) {
        yield_now().await;
        CVAR.set(val);
    }
    TaskGroup::<()>::run(|g| async move {
        let ctx = copy_context();
        assert_eq!(ctx.get(&CVAR), None);
        let t1 = g.spawn_plain(ctx.scope(coro(1))).unwrap();
        t1.await.unwrap();
        assert_eq!(ctx.get(&CVAR), Some(1));
        let t2 = g.spawn_plain(ctx.scope(coro(2))).unwrap();
        t2.await.unwrap();
        assert_eq!(ctx.get(&CVAR), Some(2));
    })
    .await
    .unwrap();
    assert_eq!(CVAR.get(), None, "the awaiting task's own context is untouched");
}
