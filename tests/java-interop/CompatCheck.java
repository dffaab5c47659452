// Compatibility oracle (not product code), run as a single-file program: `java -cp <avro classpath> CompatCheck.java
// <pairs.txt>`. The file holds schema pairs on consecutive lines (reader, then writer; one schema JSON per line).
// For each pair it prints Apache Avro for Java's `SchemaCompatibility` verdict (COMPATIBLE or INCOMPATIBLE) with the
// incompatibility types it reports, or ERROR when Java cannot parse or check the pair.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

public class CompatCheck {
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[0]));
        StringBuilder out = new StringBuilder();
        for (int i = 0; i + 1 < lines.size(); i += 2) {
            try {
                Schema reader = new Schema.Parser().setValidateDefaults(true).parse(lines.get(i));
                Schema writer = new Schema.Parser().setValidateDefaults(true).parse(lines.get(i + 1));
                SchemaCompatibility.SchemaPairCompatibility result =
                        SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
                String types = result.getResult().getIncompatibilities().stream()
                        .map(inc -> inc.getType().name())
                        .collect(Collectors.joining(","));
                out.append(result.getType().name()).append(' ').append(types).append('\n');
            } catch (Exception e) {
                out.append("ERROR ").append(e.getClass().getSimpleName()).append('\n');
            }
        }
        System.out.print(out);
    }
}
