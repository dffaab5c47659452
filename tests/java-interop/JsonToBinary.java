// Writer oracle (not product code), run as a single-file program: `java -cp <avro classpath> JsonToBinary.java
// <schema.avsc> <datum.json>`. Reads a datum in Avro's JSON encoding with Apache Avro for Java and prints its
// binary encoding in hex: what a Java producer with that schema writes.
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

public class JsonToBinary {
    public static void main(String[] args) throws Exception {
        Schema schema = new Schema.Parser().setValidateDefaults(true).parse(Files.readString(Path.of(args[0])));
        Object datum = new GenericDatumReader<Object>(schema)
                .read(null, DecoderFactory.get().jsonDecoder(schema, Files.readString(Path.of(args[1]))));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<Object>(schema).write(datum, encoder);
        encoder.flush();
        System.out.println(HexFormat.of().formatHex(out.toByteArray()));
    }
}
