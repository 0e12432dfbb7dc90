from bench.measure.data import batch_order, collate


def test_collate_pads_right_for_encoders_and_left_for_causal():
    right = collate([[5, 6, 7], [8]], [1, 0], pad_id=0, left=False)
    assert right["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    left = collate([[5, 6, 7], [8]], [1, 0], pad_id=0, left=True)
    assert left["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]  # every row ends at its last real token
    assert left["labels"].tolist() == [1, 0]


def test_batch_order_covers_every_index_once_and_is_seeded():
    lengths = [(i * 37) % 50 + 1 for i in range(203)]
    for group in (False, True):
        a = batch_order(lengths, 16, shuffle_seed=3, group_by_length=group)
        assert sorted(i for b in a for i in b) == list(range(203))
        assert a == batch_order(lengths, 16, shuffle_seed=3, group_by_length=group)
        assert a != batch_order(lengths, 16, shuffle_seed=4, group_by_length=group)


def test_grouping_by_length_cuts_padding():
    lengths = [(i * 37) % 50 + 1 for i in range(800)]

    def padded(batches):
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    plain = batch_order(lengths, 16, shuffle_seed=0, group_by_length=False)
    grouped = batch_order(lengths, 16, shuffle_seed=0, group_by_length=True)
    assert padded(grouped) < 0.7 * padded(plain)
    evaluation = batch_order(lengths, 16, shuffle_seed=None, group_by_length=True)
    assert [lengths[b[0]] for b in evaluation] == sorted(lengths[b[0]] for b in evaluation)
