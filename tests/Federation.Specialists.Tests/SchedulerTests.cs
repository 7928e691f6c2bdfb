using Federation.Specialists.Engine;

namespace Federation.Specialists.Tests;

public class SchedulerTests
{
    [Fact]
    public void Group_holds_only_requests_of_one_adapter_set_in_arrival_order()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 8, maxBypass: 4);
        s.Enqueue(1, "A"); s.Enqueue(2, "B"); s.Enqueue(3, "A"); s.Enqueue(4, "A");
        var g = s.TryTake(0, null)!.Value;
        Assert.Equal("A", g.Key);
        Assert.Equal([1, 3, 4], g.Items);
        Assert.Equal(1, s.Count);
    }

    [Fact]
    public void Group_size_is_capped()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 2, maxBypass: 4);
        for (var i = 0; i < 5; i++) s.Enqueue(i, "A");
        Assert.Equal([0, 1], s.TryTake(0, null)!.Value.Items);
        Assert.Equal(3, s.Count);
    }

    [Fact]
    public void Worker_prefers_the_set_already_active_on_its_context()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 8, maxBypass: 4);
        s.Enqueue(1, "A"); s.Enqueue(2, "B");
        var g = s.TryTake(0, currentKey: "B")!.Value;
        Assert.Equal("B", g.Key);
    }

    [Fact]
    public void Different_sets_go_to_different_workers()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 1, maxBypass: 4);
        s.Enqueue(1, "A"); s.Enqueue(2, "A"); s.Enqueue(3, "B");
        Assert.Equal("A", s.TryTake(0, null)!.Value.Key);
        // Worker 1 is idle with no set: A is busy on worker 0, so it takes B rather than a second A.
        Assert.Equal("B", s.TryTake(1, null)!.Value.Key);
    }

    [Fact]
    public void A_request_passed_over_too_often_is_served_next()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 1, maxBypass: 2);
        s.Enqueue(100, "B");
        for (var i = 0; i < 10; i++) s.Enqueue(i, "A");
        var served = new List<int>();
        for (var round = 0; round < 4; round++)
        {
            var g = s.TryTake(0, currentKey: "A")!.Value;
            served.AddRange(g.Items);
            s.Done(0);
        }
        // A is preferred twice (affinity), then B has been passed over twice and must go.
        Assert.Equal([0, 1, 100, 2], served);
    }

    [Fact]
    public async Task Take_waits_for_work_and_close_releases_waiters()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 4, maxBypass: 4);
        var waiting = s.TakeAsync(0, null);
        Assert.False(waiting.IsCompleted);
        s.Enqueue(5, "K");
        var g = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([5], g!.Value.Items);
        var next = s.TakeAsync(0, "K");
        s.Close();
        Assert.Null(await next.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Join_takes_same_set_requests_for_a_running_group()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 4, maxBypass: 4);
        s.Enqueue(1, "B"); s.Enqueue(2, "A"); s.Enqueue(3, "A"); s.Enqueue(4, "A");
        Assert.Equal([2, 3], s.TryJoin(0, "A", 2));
        Assert.Equal(2, s.Count);
    }

    [Fact]
    public void Join_stops_once_another_set_has_waited_too_long()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 4, maxBypass: 1);
        s.Enqueue(1, "B"); s.Enqueue(2, "A"); s.Enqueue(3, "A");
        Assert.Equal([2], s.TryJoin(0, "A", 1)); // B passed over once
        Assert.Empty(s.TryJoin(0, "A", 1));      // now B must be served first
        Assert.Equal("B", s.TryTake(1, null)!.Value.Key);
    }

    [Fact]
    public void With_prefer_join_an_idle_worker_hands_a_running_set_to_the_busy_worker_with_room()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 8, maxBypass: 4, preferJoin: true);
        s.Enqueue(1, "A");
        Assert.Equal([1], s.TryTake(0, null)!.Value.Items);
        s.Enqueue(2, "A"); s.Enqueue(3, "B"); s.Enqueue(4, "A");
        // Worker 1 is idle: A runs on worker 0 with 7 free slots, so 2 and 4 are handed there; worker 1 takes B.
        Assert.Null(s.TryTake(1, null));
        Assert.Equal(2, s.HandedOff);
        var b = s.TryTake(1, null)!.Value;
        Assert.Equal("B", b.Key);
        Assert.Equal([3], b.Items);
        Assert.Equal([2, 4], s.TryJoin(0, "A", 7));
        Assert.Equal(0, s.Count);
        Assert.Null(s.TryTake(1, null)); // no wake-up signal left over for requests that are gone
    }

    [Fact]
    public void Without_prefer_join_or_without_room_the_idle_worker_takes_the_set_itself()
    {
        using (var s = new AdapterAffinityScheduler<int>(maxGroup: 8, maxBypass: 4))
        {
            s.Enqueue(1, "A");
            s.TryTake(0, null);
            s.Enqueue(2, "A");
            Assert.Equal([2], s.TryTake(1, null)!.Value.Items);
        }
        using (var s = new AdapterAffinityScheduler<int>(maxGroup: 2, maxBypass: 4, preferJoin: true))
        {
            s.Enqueue(1, "A"); s.Enqueue(2, "A");
            Assert.Equal([1, 2], s.TryTake(0, null)!.Value.Items); // worker 0 is full
            s.Enqueue(3, "A");
            Assert.Equal([3], s.TryTake(1, null)!.Value.Items);
            Assert.Equal(0, s.HandedOff);
        }
    }

    [Fact]
    public async Task Handed_requests_the_group_did_not_join_go_back_to_the_front_of_the_queue_when_it_ends()
    {
        using var s = new AdapterAffinityScheduler<int>(maxGroup: 8, maxBypass: 4, preferJoin: true);
        s.Enqueue(1, "A");
        s.TryTake(0, null);
        s.Enqueue(2, "A"); s.Enqueue(3, "A");
        Assert.Null(s.TryTake(1, null));
        s.Enqueue(4, "C");
        s.Done(0); // the group ended before its next join
        Assert.Equal(3, s.Count);
        var g = await s.TakeAsync(1, null).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("A", g!.Value.Key);
        Assert.Equal([2, 3], g.Value.Items);
        Assert.Equal([4], (await s.TakeAsync(0, null).WaitAsync(TimeSpan.FromSeconds(5)))!.Value.Items);
    }
}
