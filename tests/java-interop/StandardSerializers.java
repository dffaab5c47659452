// Key-format oracle (not product code), run as a single-file program: `java -cp <classpath>
// StandardSerializers.java <cases.txt>`. Each line is `<type> <value>` (strings as UTF-8 hex, bytes as hex); it
// prints the hex of what Kafka's standard serializer for that type writes.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.UUID;

import org.apache.kafka.common.serialization.*;

public class StandardSerializers {
    public static void main(String[] args) throws Exception {
        HexFormat hex = HexFormat.of();
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            String[] parts = line.split(" ", 2);
            String v = parts.length > 1 ? parts[1] : "";
            byte[] bytes = switch (parts[0]) {
                case "string" -> new StringSerializer().serialize("t", new String(hex.parseHex(v), StandardCharsets.UTF_8));
                case "bytes" -> new ByteArraySerializer().serialize("t", hex.parseHex(v));
                case "short" -> new ShortSerializer().serialize("t", Short.parseShort(v));
                case "int" -> new IntegerSerializer().serialize("t", Integer.parseInt(v));
                case "long" -> new LongSerializer().serialize("t", Long.parseLong(v));
                case "float" -> new FloatSerializer().serialize("t", Float.intBitsToFloat(Integer.parseUnsignedInt(v, 16)));
                case "double" -> new DoubleSerializer().serialize("t", Double.longBitsToDouble(Long.parseUnsignedLong(v, 16)));
                case "uuid" -> new UUIDSerializer().serialize("t", UUID.fromString(v));
                default -> throw new IllegalArgumentException("unknown type " + parts[0]);
            };
            out.append(hex.formatHex(bytes)).append('\n');
        }
        System.out.print(out);
    }
}
