package dev.expertmesh.shardmap;

import com.google.protobuf.InvalidProtocolBufferException;
import com.hazelcast.core.EntryEvent;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.expertmesh.membership.ClusterMember;
import dev.expertmesh.membership.ClusterSecret;
import dev.expertmesh.membership.Subscription;
import dev.expertmesh.placement.ShardMap;
import dev.expertmesh.proto.NodeDescriptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.ToLongFunction;

/**
 * The cluster's newest shard map, one entry of a Hazelcast map holding its protobuf bytes, and the epoch the
 * coordinator serves with, another entry: a map is published first, its workers load it while the cluster
 * still serves the one before, and the coordinator flips to it at a step boundary. An IMap rather than an
 * IAtomicReference because the latter needs the CP subsystem, which a small AP cluster does not run. Both
 * entries are signed with the member's {@link ClusterSecret}; one that is not is neither served nor loaded.
 */
public final class ShardMapStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ShardMapStore.class);
    static final String MAP = "expertmesh.shard-map";
    static final String KEY = "current";
    static final String SERVING = "serving";

    private final IMap<String, byte[]> map;
    private final ClusterMember member;
    private final ClusterSecret secret;
    /** The newest epoch read here: a map forged over a real one must not send the next epoch back to 1. */
    private volatile long newest = ShardMap.UNPUBLISHED;
    private final List<Subscriber<ShardMap>> subscribers = new CopyOnWriteArrayList<>();
    private final List<Subscriber<Long>> servingSubscribers = new CopyOnWriteArrayList<>();
    // Workers load weights in their listener; that must not hold up Hazelcast's event threads.
    private final ExecutorService events = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("shard-map-events").daemon().factory());
    private final UUID registration;

    /** The store of {@code member}'s cluster, signing and checking with its secret. */
    public ShardMapStore(ClusterMember member) {
        this.map = member.hazelcast().getMap(MAP);
        this.member = member;
        this.secret = member.secret();
        this.registration = map.addEntryListener(new Changes(), true);
    }

    /**
     * The newest map, if there is one signed with this cluster's secret and not older than the epoch served: an
     * older one is a signed map written back over its successors, which the workers have moved past.
     */
    public Optional<ShardMap> current() {
        long served = serving();
        return Optional.ofNullable(map.get(KEY)).flatMap(this::verified).filter(shardMap -> shardMap.epoch() >= served);
    }

    private Optional<ShardMap> verified(byte[] stored) {
        Optional<ShardMap> shardMap = secret.verify(KEY, stored).map(ShardMapStore::parse);
        shardMap.ifPresent(m -> newest = Math.max(newest, m.epoch()));
        return shardMap;
    }

    /**
     * Stores {@code placement} as the next epoch and returns it as stored; the epoch {@code placement} carries is
     * ignored. Compare-and-set, so two publishers never share an epoch. The next epoch follows the newest this
     * cluster has seen anywhere (the stored map, the serving epoch, what the workers loaded, what this store read),
     * so that a map written back over newer ones never makes an epoch number serve twice.
     */
    public ShardMap publish(ShardMap placement) {
        while (true) {
            byte[] previous = map.get(KEY);
            long previousEpoch = previous == null ? ShardMap.UNPUBLISHED : verified(previous).map(ShardMap::epoch).orElse(ShardMap.UNPUBLISHED);
            long loaded = member.members().stream().mapToLong(NodeDescriptor::getLoadedEpoch).max().orElse(ShardMap.UNPUBLISHED);
            long epoch = Math.max(Math.max(newest, previousEpoch), Math.max(serving(), loaded)) + 1;
            ShardMap next = placement.withEpoch(epoch);
            byte[] bytes = secret.sign(KEY, next.toProto().toByteArray());
            boolean stored = previous == null ? map.putIfAbsent(KEY, bytes) == null : map.replace(KEY, previous, bytes);
            if (stored) {
                return next;
            }
        }
    }

    /** The epoch the coordinator serves with: {@link ShardMap#UNPUBLISHED} before its first flip. */
    public long serving() {
        return servingEpoch(map.get(SERVING));
    }

    /** The epoch stored as serving, or {@link ShardMap#UNPUBLISHED} when there is none signed with this cluster's secret. */
    private long servingEpoch(byte[] stored) {
        return stored == null ? ShardMap.UNPUBLISHED
                : secret.verify(SERVING, stored).map(bytes -> ByteBuffer.wrap(bytes).getLong()).orElse(ShardMap.UNPUBLISHED);
    }

    /**
     * Tells the workers that the coordinator now serves with {@code epoch}: what older maps placed and this one
     * does not, they may drop. Epochs only grow, so a late call for an older epoch changes nothing.
     */
    public void flip(long epoch) {
        byte[] bytes = secret.sign(SERVING, ByteBuffer.allocate(Long.BYTES).putLong(epoch).array());
        while (true) {
            byte[] previous = map.get(SERVING);
            if (servingEpoch(previous) >= epoch) {
                return;
            }
            if (previous == null ? map.putIfAbsent(SERVING, bytes) == null : map.replace(SERVING, previous, bytes)) {
                return;
            }
        }
    }

    /** Like {@link #subscribe}, for the serving epoch: now, if flipped once, then at each flip, in order. */
    public Subscription subscribeServing(LongConsumer listener) {
        var subscriber = new Subscriber<Long>(listener::accept, Long::longValue);
        servingSubscribers.add(subscriber);
        post(() -> subscriber.offer(serving()));
        return () -> servingSubscribers.remove(subscriber);
    }

    /**
     * Calls {@code listener} with the current map, if any, and then each newer one, in epoch order on a thread of
     * this store's; an epoch is never delivered twice.
     */
    public Subscription subscribe(Consumer<ShardMap> listener) {
        var subscriber = new Subscriber<>(listener, ShardMap::epoch);
        subscribers.add(subscriber);
        post(() -> current().ifPresent(subscriber::offer));
        return () -> subscribers.remove(subscriber);
    }

    @Override
    public void close() {
        subscribers.clear();
        servingSubscribers.clear();
        map.removeEntryListener(registration);
        events.shutdownNow();
        try {
            events.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void post(Runnable task) {
        try {
            events.execute(task);
        } catch (RejectedExecutionException e) {
            // A change that raced close(): nobody listens any more.
        }
    }

    private static ShardMap parse(byte[] bytes) {
        try {
            return ShardMap.fromProto(dev.expertmesh.proto.ShardMap.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new UncheckedIOException("corrupt shard map in " + MAP, e);
        }
    }

    /**
     * Tracks the epoch one listener has seen, because the first delivery may race a change already queued.
     * Touched only on the store's event thread.
     */
    private static final class Subscriber<T> {
        private final Consumer<T> listener;
        private final ToLongFunction<T> epochOf;
        private long delivered = ShardMap.UNPUBLISHED;

        Subscriber(Consumer<T> listener, ToLongFunction<T> epochOf) {
            this.listener = listener;
            this.epochOf = epochOf;
        }

        void offer(T value) {
            long epoch = epochOf.applyAsLong(value);
            if (epoch <= delivered) {
                return;
            }
            delivered = epoch;
            try {
                listener.accept(value);
            } catch (RuntimeException e) {
                log.warn("shard map listener failed on epoch {}: {}", epoch, e.toString(), e);
            }
        }
    }

    private final class Changes implements EntryAddedListener<String, byte[]>, EntryUpdatedListener<String, byte[]> {
        @Override
        public void entryAdded(EntryEvent<String, byte[]> event) {
            changed(event.getKey(), event.getValue());
        }

        @Override
        public void entryUpdated(EntryEvent<String, byte[]> event) {
            changed(event.getKey(), event.getValue());
        }

        private void changed(String key, byte[] bytes) {
            if (secret.verify(key, bytes).isEmpty()) {
                log.warn("ignoring the entry '{}' written to {}: it is not signed with this cluster's secret", key, MAP);
            } else if (key.equals(SERVING)) {
                long epoch = servingEpoch(bytes);
                post(() -> servingSubscribers.forEach(subscriber -> subscriber.offer(epoch)));
            } else {
                post(() -> verified(bytes).ifPresent(shardMap -> subscribers.forEach(subscriber -> subscriber.offer(shardMap))));
            }
        }
    }
}
