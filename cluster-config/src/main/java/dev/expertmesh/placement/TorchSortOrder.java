package dev.expertmesh.placement;

/**
 * The indices {@code torch.sort(values, descending=True)} returns on the CPU. That sort is libstdc++'s
 * {@code std::sort} (introsort: median-of-three quicksort, heapsort past a depth limit, insertion sort below 16
 * items), which is not stable: EPLB packs equal loads (the replicas of one expert) in the order it leaves them, so
 * which replica lands on which GPU follows this order and no other.
 */
final class TorchSortOrder {
    private static final int INSERTION_THRESHOLD = 16;

    private final float[] values;
    private final int[] order;

    private TorchSortOrder(float[] values) {
        this.values = values;
        this.order = new int[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
    }

    static int[] descending(float[] values) {
        TorchSortOrder sort = new TorchSortOrder(values);
        int n = values.length;
        if (n > 1) {
            sort.introsortLoop(0, n, 2 * floorLog2(n));
            sort.finalInsertionSort(n);
        }
        return sort.order;
    }

    private static int floorLog2(int n) {
        return 31 - Integer.numberOfLeadingZeros(n);
    }

    /** torch's descending comparator: whether the item at index a goes before the one at b. */
    private boolean before(int a, int b) {
        return values[a] > values[b];
    }

    private void introsortLoop(int first, int last, int depthLimit) {
        while (last - first > INSERTION_THRESHOLD) {
            if (depthLimit == 0) {
                heapSort(first, last);
                return;
            }
            depthLimit--;
            int cut = partitionAroundMedian(first, last);
            introsortLoop(cut, last, depthLimit);
            last = cut;
        }
    }

    private int partitionAroundMedian(int first, int last) {
        moveMedianToFirst(first, first + 1, first + (last - first) / 2, last - 1);
        int pivot = order[first];
        int lo = first + 1;
        int hi = last;
        while (true) {
            while (before(order[lo], pivot)) {
                lo++;
            }
            hi--;
            while (before(pivot, order[hi])) {
                hi--;
            }
            if (lo >= hi) {
                return lo;
            }
            swap(lo, hi);
            lo++;
        }
    }

    private void moveMedianToFirst(int result, int a, int b, int c) {
        int median;
        if (before(order[a], order[b])) {
            median = before(order[b], order[c]) ? b : before(order[a], order[c]) ? c : a;
        } else {
            median = before(order[a], order[c]) ? a : before(order[b], order[c]) ? c : b;
        }
        swap(result, median);
    }

    private void finalInsertionSort(int n) {
        insertionSort(0, Math.min(n, INSERTION_THRESHOLD));
        for (int i = INSERTION_THRESHOLD; i < n; i++) {
            linearInsert(i);
        }
    }

    private void insertionSort(int first, int last) {
        for (int i = first + 1; i < last; i++) {
            if (before(order[i], order[first])) {
                int item = order[i];
                System.arraycopy(order, first, order, first + 1, i - first);
                order[first] = item;
            } else {
                linearInsert(i);
            }
        }
    }

    /** Moves order[i] left past every item it goes before; something to its left always stops it. */
    private void linearInsert(int i) {
        int item = order[i];
        while (before(item, order[i - 1])) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = item;
    }

    private void heapSort(int first, int last) {
        int len = last - first;
        for (int parent = (len - 2) / 2; parent >= 0; parent--) {
            adjustHeap(first, parent, len, order[first + parent]);
        }
        for (int end = last - 1; end > first; end--) {
            int item = order[end];
            order[end] = order[first];
            adjustHeap(first, 0, end - first, item);
        }
    }

    /** libstdc++'s __adjust_heap: sifts the hole at {@code hole} down to a leaf, then pushes {@code item} up. */
    private void adjustHeap(int first, int hole, int len, int item) {
        int top = hole;
        int child = hole;
        while (child < (len - 1) / 2) {
            child = 2 * (child + 1);
            if (before(order[first + child], order[first + child - 1])) {
                child--;
            }
            order[first + hole] = order[first + child];
            hole = child;
        }
        if ((len & 1) == 0 && child == (len - 2) / 2) {
            child = 2 * (child + 1);
            order[first + hole] = order[first + child - 1];
            hole = child - 1;
        }
        int parent = (hole - 1) / 2;
        while (hole > top && before(order[first + parent], item)) {
            order[first + hole] = order[first + parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        order[first + hole] = item;
    }

    private void swap(int i, int j) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}
