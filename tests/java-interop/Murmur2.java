// Partitioning oracle (not product code), run as a single-file program: `java -cp <classpath> Murmur2.java
// <keys.txt> <partitions>`. For each line of hex key bytes it prints the Java client's `Utils.murmur2` and the
// partition its default partitioner gives a keyed record (`Utils.toPositive(murmur2) % partitions`).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import org.apache.kafka.common.utils.Utils;

public class Murmur2 {
    public static void main(String[] args) throws Exception {
        int partitions = Integer.parseInt(args[1]);
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            byte[] key = HexFormat.of().parseHex(line.trim());
            int hash = Utils.murmur2(key);
            out.append(hash).append(' ').append(Utils.toPositive(hash) % partitions).append('\n');
        }
        System.out.print(out);
    }
}
