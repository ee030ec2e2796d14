package dev.lineagegraph.emitter;

import io.openlineage.client.OpenLineage;
import io.openlineage.client.OpenLineageClient;
import io.openlineage.client.OpenLineageClientException;
import io.openlineage.client.transports.ApiKeyTokenProvider;
import io.openlineage.client.transports.HttpConfig;
import io.openlineage.client.transports.HttpTransport;
import java.net.URI;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.UUID;

/**
 * Emits one job's lineage with the official OpenLineage Java client over HTTP, gzip on, the
 * way the Spark, Flink and Trino integrations send it: a DatasetEvent, a JobEvent, then a run's
 * START and COMPLETE (with schema, column lineage and a failing quality assertion).
 *
 * <p>Usage: {@code Emit SERVER_URL API_KEY RUN_ID}. Exits 1 with the client's message when the
 * server refuses an event.
 */
public final class Emit {
  static final String PG = "postgres://warehouse:5432";
  static final String PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/java";

  private Emit() {}

  public static void main(String[] args) {
    if (args.length != 3) {
      System.err.println("usage: Emit SERVER_URL API_KEY RUN_ID");
      System.exit(2);
    }
    HttpConfig config = new HttpConfig();
    config.setUrl(URI.create(args[0]));
    config.setCompression(HttpConfig.Compression.GZIP);
    ApiKeyTokenProvider auth = new ApiKeyTokenProvider();
    auth.setApiKey(args[1]);
    config.setAuth(auth);
    OpenLineageClient client =
        OpenLineageClient.builder().transport(new HttpTransport(config)).build();
    try {
      int sent = emitAll(client, new OpenLineage(URI.create(PRODUCER)), UUID.fromString(args[2]));
      System.out.println("emitted " + sent + " events");
    } catch (OpenLineageClientException error) {
      System.err.println("refused: " + error.getMessage());
      System.exit(1);
    }
  }

  static int emitAll(OpenLineageClient client, OpenLineage ol, UUID runId) {
    ZonedDateTime started = ZonedDateTime.of(2026, 11, 2, 6, 0, 0, 0, ZoneOffset.UTC);
    OpenLineage.Job job =
        ol.newJobBuilder()
            .namespace("flink-jobs")
            .name("customer_totals")
            .facets(
                ol.newJobFacetsBuilder()
                    .sql(
                        ol.newSQLJobFacet(
                            "insert into public.customer_totals select customer_id, sum(amount)"
                                + " from public.orders join public.customers using (customer_id)"
                                + " group by customer_id",
                            "postgres"))
                    .build())
            .build();

    client.emit(
        ol.newDatasetEventBuilder()
            .eventTime(started.minusDays(1))
            .dataset(
                ol.newStaticDatasetBuilder()
                    .namespace(PG)
                    .name("public.customers")
                    .facets(
                        ol.newDatasetFacetsBuilder()
                            .schema(schema(ol, "customer_id", "name", "email"))
                            .documentation(
                                ol.newDocumentationDatasetFacetBuilder()
                                    .description("One row per customer.")
                                    .build())
                            .build())
                    .build())
            .build());

    client.emit(
        ol.newJobEventBuilder()
            .eventTime(started.minusHours(1))
            .job(job)
            .inputs(List.of(input(ol, "public.orders", null), input(ol, "public.customers", null)))
            .outputs(List.of(output(ol, false)))
            .build());

    OpenLineage.Run run = ol.newRunBuilder().runId(runId).build();
    client.emit(
        ol.newRunEventBuilder()
            .eventType(OpenLineage.RunEvent.EventType.START)
            .eventTime(started)
            .run(run)
            .job(job)
            .inputs(List.of(input(ol, "public.orders", null), input(ol, "public.customers", null)))
            .outputs(List.of(output(ol, false)))
            .build());

    OpenLineage.DataQualityAssertionsDatasetFacet assertions =
        ol.newDataQualityAssertionsDatasetFacetBuilder()
            .assertions(
                List.of(
                    ol.newDataQualityAssertionsDatasetFacetAssertionsBuilder()
                        .assertion("not_null")
                        .column("customer_id")
                        .success(false)
                        .actual("1")
                        .expected("0")
                        .build(),
                    ol.newDataQualityAssertionsDatasetFacetAssertionsBuilder()
                        .assertion("unique")
                        .column("order_id")
                        .success(true)
                        .build()))
            .build();
    client.emit(
        ol.newRunEventBuilder()
            .eventType(OpenLineage.RunEvent.EventType.COMPLETE)
            .eventTime(started.plusMinutes(5))
            .run(run)
            .job(job)
            .inputs(
                List.of(
                    input(ol, "public.orders", assertions), input(ol, "public.customers", null)))
            .outputs(List.of(output(ol, true)))
            .build());
    return 4;
  }

  static OpenLineage.SchemaDatasetFacet schema(OpenLineage ol, String... names) {
    return ol.newSchemaDatasetFacetBuilder()
        .fields(
            java.util.Arrays.stream(names)
                .map(n -> ol.newSchemaDatasetFacetFieldsBuilder().name(n).type("varchar").build())
                .toList())
        .build();
  }

  static OpenLineage.InputDataset input(
      OpenLineage ol, String name, OpenLineage.DataQualityAssertionsDatasetFacet assertions) {
    OpenLineage.InputDatasetBuilder builder =
        ol.newInputDatasetBuilder()
            .namespace(PG)
            .name(name)
            .facets(
                ol.newDatasetFacetsBuilder()
                    .schema(
                        name.equals("public.orders")
                            ? schema(ol, "order_id", "customer_id", "amount")
                            : schema(ol, "customer_id", "name", "email"))
                    .build());
    if (assertions != null) {
      builder.inputFacets(
          ol.newInputDatasetInputFacetsBuilder().dataQualityAssertions(assertions).build());
    }
    return builder.build();
  }

  static OpenLineage.OutputDataset output(OpenLineage ol, boolean withColumnLineage) {
    OpenLineage.DatasetFacetsBuilder facets =
        ol.newDatasetFacetsBuilder().schema(schema(ol, "customer_id", "total_amount"));
    if (withColumnLineage) {
      facets.columnLineage(
          ol.newColumnLineageDatasetFacetBuilder()
              .fields(
                  ol.newColumnLineageDatasetFacetFieldsBuilder()
                      .put("customer_id", derived(ol, "customer_id", "DIRECT", "IDENTITY"))
                      .put("total_amount", derived(ol, "amount", "DIRECT", "AGGREGATION"))
                      .build())
              .dataset(
                  List.of(
                      ol.newInputFieldBuilder()
                          .namespace(PG)
                          .name("public.customers")
                          .field("customer_id")
                          .transformations(List.of(transformation(ol, "INDIRECT", "JOIN")))
                          .build()))
              .build());
    }
    return ol.newOutputDatasetBuilder()
        .namespace(PG)
        .name("public.customer_totals")
        .facets(facets.build())
        .build();
  }

  static OpenLineage.ColumnLineageDatasetFacetFieldsAdditional derived(
      OpenLineage ol, String field, String type, String subtype) {
    return ol.newColumnLineageDatasetFacetFieldsAdditionalBuilder()
        .inputFields(
            List.of(
                ol.newInputFieldBuilder()
                    .namespace(PG)
                    .name("public.orders")
                    .field(field)
                    .transformations(List.of(transformation(ol, type, subtype)))
                    .build()))
        .build();
  }

  static OpenLineage.InputFieldTransformations transformation(
      OpenLineage ol, String type, String subtype) {
    return ol.newInputFieldTransformationsBuilder().type(type).subtype(subtype).build();
  }
}
