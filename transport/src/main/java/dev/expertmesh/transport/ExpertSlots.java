package dev.expertmesh.transport;

import dev.expertmesh.moe.ExpertRoutes;
import dev.expertmesh.tensor.Weight;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A row's experts on one worker as two FixedSizeBinary columns of {@code slots} little-endian
 * int32 ids and fp32 weights. A row with fewer experts there pads with id -1 (see {@link ExpertRoutes}).
 */
public final class ExpertSlots {
    public static final String IDS = "expert_ids";
    public static final String WEIGHTS = "expert_weights";
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ExpertSlots() {
    }

    public static Field idsField(int slots) {
        return new Field(IDS, FieldType.notNullable(new ArrowType.FixedSizeBinary(slots * Integer.BYTES)), null);
    }

    public static Field weightsField(int slots) {
        return new Field(WEIGHTS, FieldType.notNullable(new ArrowType.FixedSizeBinary(slots * Float.BYTES)), null);
    }

    /** Writes the first {@code rows} rows of {@code ids} and {@code weights} ([*, slots], padded with -1 and 0) into the two columns. */
    public static void write(FixedSizeBinaryVector idsVector, FixedSizeBinaryVector weightsVector, int[] ids, float[] weights, int rows) {
        HiddenRows.ensureCapacity(idsVector, rows);
        HiddenRows.ensureCapacity(weightsVector, rows);
        int values = rows * (idsVector.getByteWidth() / Integer.BYTES);
        MemorySegment.copy(ids, 0, HiddenRows.segment(idsVector.getDataBuffer()), I32, 0, values);
        MemorySegment.copy(weights, 0, HiddenRows.segment(weightsVector.getDataBuffer()), Weight.F32, 0, values);
        for (int r = 0; r < rows; r++) {
            idsVector.setIndexDefined(r);
            weightsVector.setIndexDefined(r);
        }
        idsVector.setValueCount(rows);
        weightsVector.setValueCount(rows);
    }

    /** The two columns as routes of {@code slots} experts per row. */
    public static ExpertRoutes read(FixedSizeBinaryVector idsVector, FixedSizeBinaryVector weightsVector) {
        int rows = idsVector.getValueCount();
        int slots = idsVector.getByteWidth() / Integer.BYTES;
        int[] ids = new int[rows * slots];
        float[] weights = new float[rows * slots];
        MemorySegment.copy(HiddenRows.segment(idsVector.getDataBuffer()), I32, 0, ids, 0, ids.length);
        MemorySegment.copy(HiddenRows.segment(weightsVector.getDataBuffer()), Weight.F32, 0, weights, 0, weights.length);
        return new ExpertRoutes(rows, slots, ids, weights);
    }
}
